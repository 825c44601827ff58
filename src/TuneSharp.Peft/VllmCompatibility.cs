namespace TuneSharp.Peft;

/// <summary>
/// What keeps an adapter from loading as trained in vLLM, from vLLM's LoRA loader (vllm/lora/peft_helper.py): it
/// refuses use_dora and a non-empty modules_to_save, and reads neither rank_pattern nor alpha_pattern, scaling every
/// module by lora_alpha / r (or / sqrt(r) with rsLoRA). Each problem comes with the way out.
/// </summary>
public static class VllmCompatibility
{
    public static IReadOnlyList<string> Problems(LoraSettings s)
    {
        var problems = new List<string>();
        if (s.UseDora)
            problems.Add("vLLM refuses DoRA adapters (use_dora = true; \"vLLM does not yet support DoRA\"): serve the merged model (tunesharp export merge) instead");
        if (s.ModulesToSave.Count > 0)
            problems.Add($"vLLM refuses adapters with modules_to_save ([{string.Join(", ", s.ModulesToSave)}]): serve the merged model (tunesharp export merge) instead");
        if (s.RankPattern.Count > 0 || s.AlphaPattern.Count > 0)
            problems.Add("vLLM ignores rank_pattern / alpha_pattern and scales every module by lora_alpha / r, so the modules they match " +
                $"({string.Join(", ", s.RankPattern.Keys.Concat(s.AlphaPattern.Keys).Distinct())}) would not compute as trained: serve the merged model instead");
        return problems;
    }
}
