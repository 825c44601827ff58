using System.Globalization;

namespace TuneSharp.Graders.Formula;

/// <summary>
/// multi's <c>calculate_output</c>: arithmetic over sub-grader scores. Grammar (a small recursive-descent parser; nothing
/// is evaluated as code):
/// <code>
/// expr   := term (('+' | '-') term)*
/// term   := unary (('*' | '/') unary)*
/// unary  := ('-' | '+') unary | power
/// power  := atom ('^' unary)?            right-associative, binds tighter than unary minus on its left: -2^2 = -4
/// atom   := number | name | func '(' expr (',' expr)* ')' | '(' expr ')'
/// func   := min | max (1+ args) | abs | floor | ceil | exp | sqrt | log (natural) (1 arg)
/// </code>
/// Names are the keys of <c>graders</c>. A result that is not finite (division by zero, sqrt or log of a negative)
/// is reported as an evaluation error.
/// </summary>
public sealed class FormulaExpression
{
    readonly Node _root;

    FormulaExpression(string text, Node root)
    {
        Text = text;
        _root = root;
    }

    public string Text { get; }

    /// <summary>Parses <paramref name="text"/>, checking every name is in <paramref name="names"/>.</summary>
    public static FormulaExpression Parse(string text, string keyPath, IReadOnlySet<string> names)
    {
        var parser = new FormulaParser(text, keyPath, names);
        return new FormulaExpression(text, parser.ParseAll());
    }

    /// <summary>Evaluates with the named scores; throws <see cref="ArithmeticException"/> for a non-finite result.</summary>
    public double Evaluate(IReadOnlyDictionary<string, double> scores)
    {
        double value = _root.Eval(scores);
        return double.IsFinite(value) ? value
            : throw new ArithmeticException($"calculate_output '{Text}' gave {value.ToString(CultureInfo.InvariantCulture)}");
    }

    internal abstract record Node
    {
        public abstract double Eval(IReadOnlyDictionary<string, double> scores);
    }

    internal sealed record Number(double Value) : Node
    {
        public override double Eval(IReadOnlyDictionary<string, double> scores) => Value;
    }

    internal sealed record Name(string Key) : Node
    {
        public override double Eval(IReadOnlyDictionary<string, double> scores) => scores[Key];
    }

    internal sealed record Negate(Node Operand) : Node
    {
        public override double Eval(IReadOnlyDictionary<string, double> scores) => -Operand.Eval(scores);
    }

    internal sealed record Binary(char Op, Node Left, Node Right) : Node
    {
        public override double Eval(IReadOnlyDictionary<string, double> scores)
        {
            double a = Left.Eval(scores), b = Right.Eval(scores);
            return Op switch
            {
                '+' => a + b,
                '-' => a - b,
                '*' => a * b,
                '/' => a / b,
                '^' => Math.Pow(a, b),
                _ => throw new InvalidOperationException($"operator {Op}"),
            };
        }
    }

    internal sealed record Call(Func<double[], double> Function, IReadOnlyList<Node> Args) : Node
    {
        public override double Eval(IReadOnlyDictionary<string, double> scores) =>
            Function([.. Args.Select(a => a.Eval(scores))]);
    }
}
