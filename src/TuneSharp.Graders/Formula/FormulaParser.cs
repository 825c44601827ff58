using System.Globalization;
using static TuneSharp.Graders.Formula.FormulaExpression;

namespace TuneSharp.Graders.Formula;

/// <summary>Recursive-descent parser for <see cref="FormulaExpression"/>; errors name the key path and the character offset.</summary>
internal sealed class FormulaParser(string text, string keyPath, IReadOnlySet<string> names)
{
    // name -> (min args, max args, function)
    static readonly Dictionary<string, (int Min, int Max, Func<double[], double> F)> Functions = new(StringComparer.Ordinal)
    {
        ["min"] = (1, int.MaxValue, a => a.Min()),
        ["max"] = (1, int.MaxValue, a => a.Max()),
        ["abs"] = (1, 1, a => Math.Abs(a[0])),
        ["floor"] = (1, 1, a => Math.Floor(a[0])),
        ["ceil"] = (1, 1, a => Math.Ceiling(a[0])),
        ["exp"] = (1, 1, a => Math.Exp(a[0])),
        ["sqrt"] = (1, 1, a => Math.Sqrt(a[0])),
        ["log"] = (1, 1, a => Math.Log(a[0])),
    };

    int _pos;

    public Node ParseAll()
    {
        if (text.Trim().Length == 0) throw Error("the formula is empty");
        var node = Expr();
        Skip();
        if (_pos < text.Length) throw Error($"unexpected '{text[_pos]}'");
        return node;
    }

    Node Expr()
    {
        var left = Term();
        while (Peek() is '+' or '-') { char op = text[_pos++]; left = new Binary(op, left, Term()); }
        return left;
    }

    Node Term()
    {
        var left = Unary();
        while (Peek() is '*' or '/') { char op = text[_pos++]; left = new Binary(op, left, Unary()); }
        return left;
    }

    Node Unary()
    {
        if (Peek() == '-') { _pos++; return new Negate(Unary()); }
        if (Peek() == '+') { _pos++; return Unary(); }
        var atom = Atom();
        if (Peek() == '^') { _pos++; return new Binary('^', atom, Unary()); }
        return atom;
    }

    Node Atom()
    {
        char c = Peek();
        if (c == '(')
        {
            _pos++;
            var inner = Expr();
            Expect(')');
            return inner;
        }
        if (char.IsAsciiDigit(c) || c == '.') return NumberLiteral();
        if (char.IsAsciiLetter(c) || c == '_') return NameOrCall();
        throw Error(c == '\0' ? "unexpected end of formula" : $"unexpected '{c}'");
    }

    Node NumberLiteral()
    {
        int start = _pos;
        while (_pos < text.Length && (char.IsAsciiDigit(text[_pos]) || text[_pos] == '.')) _pos++;
        if (_pos < text.Length && text[_pos] is 'e' or 'E')
        {
            _pos++;
            if (_pos < text.Length && text[_pos] is '+' or '-') _pos++;
            while (_pos < text.Length && char.IsAsciiDigit(text[_pos])) _pos++;
        }
        string s = text[start.._pos];
        return double.TryParse(s, NumberStyles.Float, CultureInfo.InvariantCulture, out double v)
            ? new Number(v) : throw Error($"bad number '{s}'", start);
    }

    Node NameOrCall()
    {
        int start = _pos;
        while (_pos < text.Length && (char.IsAsciiLetterOrDigit(text[_pos]) || text[_pos] == '_')) _pos++;
        string id = text[start.._pos];
        if (Peek() == '(')
        {
            if (!Functions.TryGetValue(id, out var fn))
                throw Error($"unknown function '{id}' (functions: {string.Join(", ", Functions.Keys)})", start);
            _pos++;
            var args = new List<Node> { Expr() };
            while (Peek() == ',') { _pos++; args.Add(Expr()); }
            Expect(')');
            if (args.Count < fn.Min || args.Count > fn.Max)
                throw Error($"{id}() takes {(fn.Max == 1 ? "1 argument" : "1 or more arguments")}, got {args.Count}", start);
            return new Call(fn.F, args);
        }
        return names.Contains(id) ? new Name(id)
            : throw Error($"'{id}' is not a grader in 'graders' (graders: {string.Join(", ", names)})", start);
    }

    char Peek()
    {
        Skip();
        return _pos < text.Length ? text[_pos] : '\0';
    }

    void Skip()
    {
        while (_pos < text.Length && char.IsWhiteSpace(text[_pos])) _pos++;
    }

    void Expect(char c)
    {
        if (Peek() != c) throw Error(_pos >= text.Length ? $"expected '{c}' before the end" : $"expected '{c}', found '{text[_pos]}'");
        _pos++;
    }

    GraderDefinitionException Error(string message, int? at = null) =>
        new(keyPath, $"formula \"{text}\" at offset {at ?? _pos}: {message}");
}
