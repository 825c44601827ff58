using System.Globalization;
using System.Text;

namespace TuneSharp.Data.Templates;

internal enum TokenKind { Data, VariableBegin, VariableEnd, BlockBegin, BlockEnd, Name, String, Integer, Float, Operator, Eof }

internal readonly record struct Token(TokenKind Kind, string Text, object? Value, int Pos)
{
    public bool Is(TokenKind kind, string text) => Kind == kind && Text == text;
    public bool IsName(string name) => Kind == TokenKind.Name && Text == name;
    public bool IsOp(string op) => Kind == TokenKind.Operator && Text == op;
}

/// <summary>
/// Jinja2's lexer with <c>trim_blocks=True, lstrip_blocks=True</c>: newlines normalised to \n, one trailing newline
/// dropped, <c>-</c>/<c>+</c> whitespace control, raw blocks, comments; brackets must balance inside tags.
/// </summary>
internal sealed class Lexer
{
    static readonly string[] Operators =
        ["//", "**", "==", "!=", ">=", "<=", "+", "-", "/", "*", "%", "~", "[", "]", "(", ")", "{", "}", ">", "<", "=", ".", ":", "|", ",", ";"];

    readonly string _src;
    readonly string? _name;
    readonly int[] _lineStarts;
    readonly List<Token> _tokens = [];
    int _pos;
    bool _lineStarting = true;

    Lexer(string source, string? name)
    {
        _src = Normalize(source);
        _name = name;
        var starts = new List<int> { 0 };
        for (int i = 0; i < _src.Length; i++)
            if (_src[i] == '\n') starts.Add(i + 1);
        _lineStarts = [.. starts];
    }

    public string Source => _src;
    public string? Name => _name;

    /// <summary>\r\n and \r become \n; one trailing newline is dropped (keep_trailing_newline=False).</summary>
    static string Normalize(string s)
    {
        if (s.Contains('\r')) s = s.Replace("\r\n", "\n", StringComparison.Ordinal).Replace('\r', '\n');
        return s.EndsWith('\n') ? s[..^1] : s;
    }

    public static (List<Token> Tokens, Lexer Lexer) Tokenize(string source, string? name)
    {
        var lx = new Lexer(source, name);
        lx.Run();
        return (lx._tokens, lx);
    }

    public (int Line, int Column) Locate(int pos)
    {
        int idx = Array.BinarySearch(_lineStarts, pos);
        if (idx < 0) idx = ~idx - 1;
        return (idx + 1, pos - _lineStarts[idx] + 1);
    }

    public TemplateSyntaxException Error(string message, int pos)
    {
        var (line, col) = Locate(Math.Min(pos, _src.Length));
        return new TemplateSyntaxException(message, _name, line, col);
    }

    void Run()
    {
        while (_pos < _src.Length) LexRoot();
        _tokens.Add(new Token(TokenKind.Eof, "", null, _src.Length));
    }

    /// <summary>Data up to the next tag opener; then the tag itself.</summary>
    void LexRoot()
    {
        int start = _pos;
        int open = FindOpener(start);
        if (open < 0)
        {
            _tokens.Add(new Token(TokenKind.Data, _src[start..], null, start));
            _pos = _src.Length;
            return;
        }
        char kind = _src[open + 1];
        int after = open + 2;
        char sign = after < _src.Length && _src[after] is '-' or '+' ? _src[after] : '\0';
        int rawEnd = kind == '%' ? MatchRawBegin(open) : -1;

        string text = _src[start..open];
        if (sign == '-') text = RStrip(text);
        else if (sign != '+' && kind != '{')
        {
            // lstrip_blocks: drop spaces/tabs between the line start and a block or comment tag.
            int lpos = text.LastIndexOf('\n') + 1;
            if ((lpos > 0 || _lineStarting) && lpos < text.Length && AllSpace(text, lpos)) text = text[..lpos];
        }
        if (text.Length > 0) _tokens.Add(new Token(TokenKind.Data, text, null, start));

        if (rawEnd >= 0)
        {
            _pos = rawEnd;
            _lineStarting = _src[rawEnd - 1] == '\n';
            LexRawBody(open);
            return;
        }
        _pos = after + (sign != '\0' ? 1 : 0);
        _lineStarting = false;
        switch (kind)
        {
            case '#': LexComment(open); break;
            case '%': LexTag(open, isBlock: true); break;
            default: LexTag(open, isBlock: false); break;
        }
    }

    int FindOpener(int from)
    {
        for (int i = _src.IndexOf('{', from); i >= 0 && i + 1 < _src.Length; i = _src.IndexOf('{', i + 1))
            if (_src[i + 1] is '{' or '%' or '#') return i;
        return -1;
    }

    static bool AllSpace(string s, int from)
    {
        for (int i = from; i < s.Length; i++)
            if (!PyOps.IsPySpace(s[i])) return false;
        return true;
    }

    static string RStrip(string s) => PyOps.Strip(s, null, false, true);

    int SkipSpace(int i)
    {
        while (i < _src.Length && PyOps.IsPySpace(_src[i])) i++;
        return i;
    }

    /// <summary>Matches <c>{%[-+]?\s*raw\s*(-%}\s*|%})</c> at <paramref name="open"/>; returns the end or -1.</summary>
    int MatchRawBegin(int open)
    {
        int i = open + 2;
        if (i < _src.Length && _src[i] is '-' or '+') i++;
        i = SkipSpace(i);
        if (string.CompareOrdinal(_src, i, "raw", 0, 3) != 0) return -1;
        i = SkipSpace(i + 3);
        if (string.CompareOrdinal(_src, i, "-%}", 0, 3) == 0) return SkipSpace(i + 3);
        if (string.CompareOrdinal(_src, i, "%}", 0, 2) == 0) return i + 2;
        return -1;
    }

    void LexRawBody(int open)
    {
        // Find the first {% [-+]? \s* endraw \s* (+%} | -%}\s* | %}\n?) after the raw opener.
        for (int i = _src.IndexOf("{%", _pos, StringComparison.Ordinal); i >= 0; i = _src.IndexOf("{%", i + 1, StringComparison.Ordinal))
        {
            int j = i + 2;
            char sign = j < _src.Length && _src[j] is '-' or '+' ? _src[j] : '\0';
            if (sign != '\0') j++;
            j = SkipSpace(j);
            if (string.CompareOrdinal(_src, j, "endraw", 0, 6) != 0) continue;
            j = SkipSpace(j + 6);
            int end = MatchBlockEnd(j);
            if (end < 0) continue;
            string text = _src[_pos..i];
            if (sign == '-') text = RStrip(text);
            else if (sign != '+')
            {
                int lpos = text.LastIndexOf('\n') + 1;
                if ((lpos > 0 || _lineStarting) && lpos < text.Length && AllSpace(text, lpos)) text = text[..lpos];
            }
            if (text.Length > 0) _tokens.Add(new Token(TokenKind.Data, text, null, _pos));
            _pos = end;
            _lineStarting = _src[end - 1] == '\n';
            return;
        }
        throw Error("Missing end of raw directive", open);
    }

    /// <summary>Matches a block end with trim_blocks at <paramref name="i"/>; returns the end or -1.</summary>
    int MatchBlockEnd(int i)
    {
        if (string.CompareOrdinal(_src, i, "+%}", 0, 3) == 0) return i + 3;
        if (string.CompareOrdinal(_src, i, "-%}", 0, 3) == 0) return SkipSpace(i + 3);
        if (string.CompareOrdinal(_src, i, "%}", 0, 2) == 0) return i + 2 < _src.Length && _src[i + 2] == '\n' ? i + 3 : i + 2;
        return -1;
    }

    void LexComment(int open)
    {
        int j = _src.IndexOf("#}", _pos, StringComparison.Ordinal);
        if (j < 0) throw Error("Missing end of comment tag", open);
        int end;
        if (j - 1 >= _pos && _src[j - 1] == '-') end = SkipSpace(j + 2);
        else if (j - 1 >= _pos && _src[j - 1] == '+') end = j + 2;
        else end = j + 2 < _src.Length && _src[j + 2] == '\n' ? j + 3 : j + 2;
        _pos = end;
        _lineStarting = _src[end - 1] == '\n';
    }

    void LexTag(int open, bool isBlock)
    {
        _tokens.Add(new Token(isBlock ? TokenKind.BlockBegin : TokenKind.VariableBegin, "", null, open));
        var balance = new Stack<char>();
        while (true)
        {
            if (_pos >= _src.Length) return;  // the parser reports the missing end tag
            if (balance.Count == 0)
            {
                int end = isBlock ? MatchBlockEnd(_pos) : MatchVariableEnd(_pos);
                if (end >= 0)
                {
                    _tokens.Add(new Token(isBlock ? TokenKind.BlockEnd : TokenKind.VariableEnd, "", null, _pos));
                    _pos = end;
                    _lineStarting = _src[end - 1] == '\n';
                    return;
                }
            }
            char c = _src[_pos];
            if (PyOps.IsPySpace(c)) { _pos = SkipSpace(_pos); continue; }
            int start = _pos;
            if (MatchFloat(_pos) is var fend && fend > 0)
            {
                string digits = _src[start..fend].Replace("_", "", StringComparison.Ordinal);
                _tokens.Add(new Token(TokenKind.Float, _src[start..fend], double.Parse(digits, NumberStyles.Float, CultureInfo.InvariantCulture), start));
                _pos = fend;
                continue;
            }
            if (char.IsAsciiDigit(c)) { LexInteger(); continue; }
            if (char.IsLetter(c) || c == '_')
            {
                int j = _pos + 1;
                while (j < _src.Length && (char.IsLetterOrDigit(_src[j]) || _src[j] == '_')) j++;
                _tokens.Add(new Token(TokenKind.Name, _src[_pos..j], null, _pos));
                _pos = j;
                continue;
            }
            if (c is '\'' or '"') { LexString(c); continue; }
            string? op = null;
            foreach (var o in Operators)
                if (string.CompareOrdinal(_src, _pos, o, 0, o.Length) == 0) { op = o; break; }
            if (op == null) throw Error($"unexpected char {PyOps.Repr(c.ToString())} at {_pos}", _pos);
            if (op is "{" or "(" or "[") balance.Push(op == "{" ? '}' : op == "(" ? ')' : ']');
            else if (op is "}" or ")" or "]")
            {
                if (balance.Count == 0) throw Error($"unexpected '{op}'", _pos);
                char expected = balance.Pop();
                if (expected != op[0]) throw Error($"unexpected '{op}', expected '{expected}'", _pos);
            }
            _tokens.Add(new Token(TokenKind.Operator, op, null, _pos));
            _pos += op.Length;
        }
    }

    int MatchVariableEnd(int i)
    {
        if (string.CompareOrdinal(_src, i, "-}}", 0, 3) == 0) return SkipSpace(i + 3);
        if (string.CompareOrdinal(_src, i, "}}", 0, 2) == 0) return i + 2;
        return -1;
    }

    /// <summary>Digits with optional _ separators; returns the end index or -1.</summary>
    int Digits(int i)
    {
        if (i >= _src.Length || !char.IsAsciiDigit(_src[i])) return -1;
        while (true)
        {
            while (i < _src.Length && char.IsAsciiDigit(_src[i])) i++;
            if (i + 1 < _src.Length && _src[i] == '_' && char.IsAsciiDigit(_src[i + 1])) { i++; continue; }
            return i;
        }
    }

    /// <summary>Jinja's float_re: digits then (.digits)? e[+-]digits, or .digits; not preceded by '.'.</summary>
    int MatchFloat(int i)
    {
        if (i > 0 && _src[i - 1] == '.') return -1;
        int j = Digits(i);
        if (j < 0) return -1;
        int frac = j < _src.Length && _src[j] == '.' ? Digits(j + 1) : -1;
        int k = frac > 0 ? frac : j;
        if (k < _src.Length && _src[k] is 'e' or 'E')
        {
            int m = k + 1;
            if (m < _src.Length && _src[m] is '+' or '-') m++;
            int e = Digits(m);
            if (e > 0) return e;
        }
        return frac > 0 ? frac : -1;
    }

    void LexInteger()
    {
        int start = _pos;
        string s = _src;
        long value;
        int j;
        if (s[start] == '0' && start + 1 < s.Length && char.ToLowerInvariant(s[start + 1]) is 'b' or 'o' or 'x')
        {
            char kind = char.ToLowerInvariant(s[start + 1]);
            int radix = kind == 'b' ? 2 : kind == 'o' ? 8 : 16;
            j = start + 2;
            var digits = new StringBuilder();
            while (j < s.Length)
            {
                if (s[j] == '_' && j + 1 < s.Length && IsRadixDigit(s[j + 1], radix)) { j++; continue; }
                if (!IsRadixDigit(s[j], radix)) break;
                digits.Append(s[j++]);
            }
            if (digits.Length == 0) { j = start + 1; value = 0; }
            else value = ParseRadix(digits.ToString(), radix, start);
        }
        else if (s[start] == '0')
        {
            j = start + 1;
            while (j < s.Length && (s[j] == '0' || (s[j] == '_' && j + 1 < s.Length && s[j + 1] == '0'))) j++;
            value = 0;
        }
        else
        {
            j = Digits(start);
            value = ParseRadix(s[start..j].Replace("_", "", StringComparison.Ordinal), 10, start);
        }
        _tokens.Add(new Token(TokenKind.Integer, s[start..j], value, start));
        _pos = j;
    }

    static bool IsRadixDigit(char c, int radix) => radix switch
    {
        2 => c is '0' or '1',
        8 => c is >= '0' and <= '7',
        _ => char.IsAsciiHexDigit(c),
    };

    long ParseRadix(string digits, int radix, int pos)
    {
        try
        {
            long v = 0;
            foreach (char c in digits)
                v = checked(v * radix + Convert.ToInt32(c.ToString(), 16));
            return v;
        }
        catch (OverflowException) { throw Error("integer literal too large (64-bit integers only)", pos); }
    }

    void LexString(char quote)
    {
        int start = _pos;
        int i = _pos + 1;
        while (i < _src.Length && _src[i] != quote)
            i += _src[i] == '\\' && i + 1 < _src.Length ? 2 : 1;
        if (i >= _src.Length) throw Error($"unexpected char {PyOps.Repr(quote.ToString())} at {start}", start);
        string value = Unescape(_src[(start + 1)..i], start);
        _tokens.Add(new Token(TokenKind.String, _src[start..(i + 1)], value, start));
        _pos = i + 1;
    }

    /// <summary>Python's unicode-escape decoding of a string literal body.</summary>
    string Unescape(string body, int pos)
    {
        if (!body.Contains('\\')) return body;
        var sb = new StringBuilder(body.Length);
        for (int i = 0; i < body.Length; i++)
        {
            char c = body[i];
            if (c != '\\' || i + 1 >= body.Length) { sb.Append(c); continue; }
            char e = body[++i];
            switch (e)
            {
                case '\n': break;
                case '\\': sb.Append('\\'); break;
                case '\'': sb.Append('\''); break;
                case '"': sb.Append('"'); break;
                case 'a': sb.Append('\a'); break;
                case 'b': sb.Append('\b'); break;
                case 'f': sb.Append('\f'); break;
                case 'n': sb.Append('\n'); break;
                case 'r': sb.Append('\r'); break;
                case 't': sb.Append('\t'); break;
                case 'v': sb.Append('\v'); break;
                case 'x': sb.Append(HexEscape(body, ref i, 2, pos)); break;
                case 'u': sb.Append(HexEscape(body, ref i, 4, pos)); break;
                case 'U': sb.Append(HexEscape(body, ref i, 8, pos)); break;
                case >= '0' and <= '7':
                    {
                        int v = e - '0', n = 1;
                        while (n < 3 && i + 1 < body.Length && body[i + 1] is >= '0' and <= '7') { v = v * 8 + (body[++i] - '0'); n++; }
                        sb.Append(char.ConvertFromUtf32(v));
                        break;
                    }
                default: sb.Append('\\').Append(e); break;
            }
        }
        return sb.ToString();
    }

    string HexEscape(string body, ref int i, int n, int pos)
    {
        if (i + n >= body.Length)
            throw Error($"truncated \\{body[i]} escape", pos);
        string hex = body.Substring(i + 1, n);
        if (!hex.All(char.IsAsciiHexDigit)) throw Error($"truncated \\{body[i]} escape", pos);
        int cp = int.Parse(hex, NumberStyles.HexNumber, CultureInfo.InvariantCulture);
        i += n;
        if (cp > 0x10FFFF) throw Error("illegal Unicode character", pos);
        return cp is >= 0xD800 and <= 0xDFFF ? ((char)cp).ToString() : char.ConvertFromUtf32(cp);
    }
}
