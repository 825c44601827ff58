using TuneSharp.Eval.Metrics;

namespace TuneSharp.Eval.Tasks;

/// <summary>
/// MATH-500 as lm-evaluation-harness's minerva_math500: Minerva's four worked examples, then
/// "Problem:\n{problem}\n\nSolution:", greedy until "Problem:". exact_match,none: the "Final Answer: The final answer is …"
/// of the response against the solution's last \boxed{}, both normalised (<see cref="MathAnswer"/>);
/// exact_match,boxed: the response's own last \boxed{} instead (for models that box their answer without the phrase).
/// </summary>
public static class Math500
{
    public static readonly string[] Until = ["Problem:"];

    /// <summary>Minerva's four-shot examples (problem, solution), as the harness's minerva_math uses them.</summary>
    public static readonly IReadOnlyList<GenDoc> Shots =
    [
        Shot("Find the domain of the expression  $\\frac{\\sqrt{x-2}}{\\sqrt{5-x}}$.}",
            "The expressions inside each square root must be non-negative. Therefore, $x-2 \\ge 0$, so $x\\ge2$, and $5 - x \\ge 0$, so $x \\le 5$. Also, the denominator cannot be equal to zero, so $5-x>0$, which gives $x<5$. Therefore, the domain of the expression is $\\boxed{[2,5)}$.\nFinal Answer: The final answer is $[2,5)$. I hope it is correct."),
        Shot("If $\\det \\mathbf{A} = 2$ and $\\det \\mathbf{B} = 12,$ then find $\\det (\\mathbf{A} \\mathbf{B}).$",
            "We have that $\\det (\\mathbf{A} \\mathbf{B}) = (\\det \\mathbf{A})(\\det \\mathbf{B}) = (2)(12) = \\boxed{24}.$\nFinal Answer: The final answer is $24$. I hope it is correct."),
        Shot("Terrell usually lifts two 20-pound weights 12 times. If he uses two 15-pound weights instead, how many times must Terrell lift them in order to lift the same total weight?",
            "If Terrell lifts two 20-pound weights 12 times, he lifts a total of $2\\cdot 12\\cdot20=480$ pounds of weight.  If he lifts two 15-pound weights instead for $n$ times, he will lift a total of $2\\cdot15\\cdot n=30n$ pounds of weight.  Equating this to 480 pounds, we can solve for $n$:\n\\begin{align*}\n30n&=480\\\\\n\\Rightarrow\\qquad n&=480/30=\\boxed{16}\n\\end{align*}\nFinal Answer: The final answer is $16$. I hope it is correct."),
        Shot("If the system of equations\n\n\\begin{align*}\n6x-4y&=a,\\\\\n6y-9x &=b.\n\\end{align*}has a solution $(x, y)$ where $x$ and $y$ are both nonzero,\nfind $\\frac{a}{b},$ assuming $b$ is nonzero.",
            "If we multiply the first equation by $-\\frac{3}{2}$, we obtain\n\n$$6y-9x=-\\frac{3}{2}a.$$Since we also know that $6y-9x=b$, we have\n\n$$-\\frac{3}{2}a=b\\Rightarrow\\frac{a}{b}=\\boxed{-\\frac{2}{3}}.$$\nFinal Answer: The final answer is $-\\frac{2}{3}$. I hope it is correct."),
    ];

    static GenDoc Shot(string problem, string solution) => new(Prompt(problem), solution);

    static string Prompt(string problem) => "Problem:\n" + problem + "\n\nSolution:";

    public static GenerationTask Task(string path) =>
        new("math500", () => Docs(path), Until, Scorers)
        {
            DefaultFewshot = Shots.Count,
            FewshotDocs = () => Shots,
            ShotText = d => d.Text + "\n" + d.Target, // Minerva's layout: the solution on the line after "Solution:"
            Definition = new Dictionary<string, object?> { ["dataset_path"] = path, ["fewshot_samples"] = "minerva (4)" },
        };

    public static IReadOnlyList<GenDoc> Docs(string path) =>
        JsonLines.Read(path).Select((row, i) =>
            new GenDoc(Prompt(row.Str("problem", path, i)), MathAnswer.Gold(row.Str("solution", path, i)))).ToList();

    public static readonly IReadOnlyList<GenScorer> Scorers =
    [
        new("exact_match", "none", (response, doc) => MathAnswer.Normalize(MathAnswer.FinalAnswer(response)) == doc.Target ? 1 : 0),
        new("exact_match", "boxed", (response, doc) =>
            MathAnswer.RemoveBoxed(MathAnswer.LastBoxed(response)) is { } boxed && MathAnswer.Normalize(boxed) == doc.Target ? 1 : 0),
    ];
}
