using System.Globalization;
using TuneSharp.Data;
using TuneSharp.Data.Encoding;

namespace TuneSharp.Cli.Commands.Data;

/// <summary>The fix hint for an example the encoder refused, chosen by finding out what made it fail.</summary>
public static class EncodingHints
{
    /// <summary>Characters each text keeps in the probe of <see cref="For"/>: enough for any role or turn structure.</summary>
    const int ProbeLength = 64;

    /// <summary>
    /// A conversation that encodes once every text in it is cut to a few characters failed for its size (the template
    /// engine bounds the strings it builds), not its structure; otherwise the template rejects its roles or order.
    /// </summary>
    public static string For(ExampleEncoder encoder, Example example)
    {
        if (example is ChatExample chat)
        {
            var probe = chat with { Messages = [.. chat.Messages.Select(m => m with { Content = Cut(m.Content), ReasoningContent = Cut(m.ReasoningContent) })] };
            if (encoder.Encode(probe).Status != EncodeStatus.Problem)
            {
                long chars = chat.Messages.Sum(m => (long)(m.Content?.Length ?? 0) + (m.ReasoningContent?.Length ?? 0));
                return $"the record is too large for the chat template ({chars.ToString("N0", CultureInfo.InvariantCulture)} characters " +
                       "of messages; it renders once they are shorter): shorten or split it, or remove it";
            }
        }
        return "check the roles and order the template expects, or choose another --template";
    }

    static string? Cut(string? text) => text is { Length: > ProbeLength } ? text[..ProbeLength] : text;
}
