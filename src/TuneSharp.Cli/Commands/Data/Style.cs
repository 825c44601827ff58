namespace TuneSharp.Cli.Commands.Data;

/// <summary>ANSI styling that is a no-op when color is off (not a terminal, NO_COLOR, or --color never).</summary>
public sealed class Style(bool color)
{
    public bool Color { get; } = color;

    public string Bold(string s) => Wrap("1", s);
    public string Dim(string s) => Wrap("2", s);
    public string Red(string s) => Wrap("31", s);
    public string Yellow(string s) => Wrap("33", s);
    public string Green(string s) => Wrap("32", s);
    public string Trained(string s) => Wrap("1;32", s);

    string Wrap(string code, string s) => Color && s.Length > 0 ? $"\u001b[{code}m{s}\u001b[0m" : s;

    /// <summary>--color auto|always|never; auto = color only when <paramref name="stdout"/> is the console and a terminal.</summary>
    public static Style For(string mode, TextWriter stdout) => mode switch
    {
        "always" => new Style(true),
        "never" => new Style(false),
        _ => new Style(ReferenceEquals(stdout, Console.Out) && !Console.IsOutputRedirected
            && string.IsNullOrEmpty(Environment.GetEnvironmentVariable("NO_COLOR"))),
    };
}
