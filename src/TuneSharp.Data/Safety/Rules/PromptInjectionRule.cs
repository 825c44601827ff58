using System.Text.RegularExpressions;

namespace TuneSharp.Data.Safety;

/// <summary>
/// <c>prompt_injection</c>: phrasing that tries to take over the model. In user turns and raw text (medium: the example
/// may be a jailbreak attempt answered with a refusal, which is fine to train on; review it): "ignore previous
/// instructions", "you are now …", requests to reveal or override the system prompt, "developer mode", chat-template
/// control tokens. In tool results (high: a model trained to follow them learns to obey whatever a web page or email says)
/// the same, plus instructions hidden for the assistant: <c>&lt;INFORMATION&gt;</c>-style blocks, "before you solve the
/// task", "… in your response / reply", "the following code snippet", "do not tell the user".
/// </summary>
public sealed partial class PromptInjectionRule : ISafetyRule
{
    public string Id => "prompt_injection";
    public Severity DefaultSeverity => Severity.High;

    static readonly (Regex Pattern, string What)[] Takeover =
    [
        (IgnoreInstructions(), "an order to ignore earlier instructions"),
        (YouAreNow(), "a new identity for the model"),
        (SystemPrompt(), "a system-prompt override or leak"),
        (Jailbreak(), "a jailbreak persona"),
        (ControlTokens(), "chat-template control tokens"),
    ];

    static readonly (Regex Pattern, string What)[] Hidden =
    [
        (InformationBlock(), "a hidden message to the assistant"),
        (AddressesAssistant(), "text addressed to the AI assistant"),
        (BeforeTheTask(), "an order to do something before the user's task"),
        (YourResponse(), "an instruction about the assistant's response"),
        (FollowingCode(), "an instruction to include code"),
        (KeepFromUser(), "an instruction to hide something from the user"),
    ];

    public IEnumerable<SafetyFinding> Check(Conversation c, ScanOptions options)
    {
        for (int i = 0; i < c.Messages.Count; i++)
        {
            var m = c.Messages[i];
            if (m.Content is not { Length: > 0 } text) continue;
            bool tool = m.Role == "tool";
            if (!tool && !Conversation.UserRoles.Contains(m.Role)) continue;
            var patterns = tool ? Takeover.Concat(Hidden) : Takeover;
            foreach (var (pattern, what) in patterns)
                if (pattern.Match(text) is { Success: true } hit)
                {
                    yield return tool
                        ? Findings.At(c, i, Id, Severity.High, $"tool result carries {what}", Excerpt.Around(text, hit.Index, hit.Length),
                            "remove the example, or its answer if the assistant obeys the injected text")
                        : Findings.At(c, i, Id, Severity.Medium, $"{m.Role} turn carries {what}", Excerpt.Around(text, hit.Index, hit.Length),
                            "keep it only if the assistant refuses; an answer that complies teaches the model to be taken over");
                    break;
                }
        }
    }

    [GeneratedRegex(@"(?i)\b(?:ignore|disregard|forget|override|bypass|skip)\s+(?:all\s+|any\s+|the\s+|your\s+|my\s+|of\s+)*(?:previous|prior|above|earlier|preceding|former|initial|original|system|developer|safety)\s+(?:\w+\s+)?(?:instructions?|prompts?|directions?|rules|guidelines|context|messages?|commands?|constraints)")]
    private static partial Regex IgnoreInstructions();
    [GeneratedRegex(@"(?i)\byou\s+are\s+now\s+(?:a|an|in|no\s+longer|free|unrestricted|unfiltered|jailbroken|dan|acting|my|operating|evil|developer)\b|\bfrom\s+now\s+on,?\s+you\s+(?:are|will|must)\b")]
    private static partial Regex YouAreNow();
    [GeneratedRegex(@"(?i)\b(?:reveal|print|show|repeat|leak|output|dump|display)\s+(?:me\s+)?(?:your|the)\s+(?:\w+\s+)?(?:system\s+prompt|initial\s+prompt|hidden\s+instructions|instructions\s+above)|\b(?:new|updated|override|overriding)\s+system\s+(?:prompt|instructions?)|\bsystem\s+(?:prompt\s+)?override\b|^\s*(?:new\s+)?instructions?\s*:")]
    private static partial Regex SystemPrompt();
    [GeneratedRegex(@"(?i)\bdo\s+anything\s+now\b|\bdeveloper\s+mode\s+(?:enabled|on|activated)|\b(?:act|pretend|roleplay)\s+(?:to\s+be\s+|as\s+)(?:an?\s+)?(?:unrestricted|unfiltered|uncensored|jailbroken|evil)\b")]
    private static partial Regex Jailbreak();
    [GeneratedRegex(@"<\|im_start\|>|<\|start_header_id\|>|<\|system\|>|<<SYS>>|\[INST\]|<\|endoftext\|>")]
    private static partial Regex ControlTokens();
    [GeneratedRegex(@"(?i)<\s*/?\s*(?:information|important|instructions?|secret|system)\s*>")]
    private static partial Regex InformationBlock();
    [GeneratedRegex(@"(?i)\b(?:to\s+you|dear|attention|hey|note\s+to\s+(?:the\s+)?)[,:]?\s+(?:the\s+)?(?:ai|llm|language\s+model)\s*(?:assistant|agent|model)?\b|\b(?:ai|llm)\s+(?:assistant|agent)s?\s*[,:]\s+(?:please\s+)?(?:you\s+)?(?:must|should|need|have)\b")]
    private static partial Regex AddressesAssistant();
    [GeneratedRegex(@"(?i)\bbefore\s+(?:you\s+)?(?:can\s+)?(?:solve|solving|complete|completing|do|doing|answer|answering|finish|finishing|continue|continuing|respond|responding)\s+(?:to\s+)?(?:the|this|my|any|your)\b")]
    private static partial Regex BeforeTheTask();
    [GeneratedRegex(@"(?i)\b(?:in|into|to|within|throughout|of|at\s+the\s+(?:end|start|beginning)\s+of)\s+your\s+(?:response|reply|answer|output|solution|summary|elucidation)s?\b|\byour\s+(?:answer|response|reply)'s\b|(?:^|[.!?:]\s+|\n)\s*(?:can\s+you\s+)?(?:please\s+)?(?:encrypt|encode|apply|use|render|shift|provide|reverse|write|invert|replace|express|translate|add|integrate|include|modify|augment|enhance|suggest|mention|insert|append|format|display)\b[^.\n]{0,80}\byour\s+(?:response|reply|answer|output|message)s?\b|(?:^|[.!?:]\s+|\n)\s*(?:can\s+you\s+)?(?:reply|respond|answer)\s+(?:in|using|only)\b")]
    private static partial Regex YourResponse();
    [GeneratedRegex(@"(?i)\b(?:the\s+)?(?:following|below|subsequent)\s+code\s+(?:snippet|block|excerpt|fragment|segment|sample|section)\b")]
    private static partial Regex FollowingCode();
    [GeneratedRegex(@"(?i)\b(?:do\s+not|don't|never)\s+(?:tell|inform|mention|reveal|show|let)\s+(?:this\s+|it\s+)?(?:to\s+)?the\s+user\b|\bwithout\s+(?:telling|informing|notifying|alerting|asking)\s+the\s+user\b")]
    private static partial Regex KeepFromUser();
}
