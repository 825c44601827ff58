using System.Text;

namespace TuneSharp.Data.Templates;

internal enum Flow { Normal, Break, Continue }

/// <summary>A variable frame. Each for-loop iteration, macro call and with block gets a fresh one.</summary>
internal sealed class Scope(Scope? parent)
{
    Dictionary<string, object?>? _vars;
    public Scope? Parent { get; } = parent;

    public bool TryGet(string name, out object? value)
    {
        for (var s = this; s != null; s = s.Parent)
            if (s._vars != null && s._vars.TryGetValue(name, out value)) return true;
        value = null;
        return false;
    }

    public void Set(string name, object? value) => (_vars ??= new(StringComparer.Ordinal))[name] = value;
}

/// <summary>Limits that keep hostile or broken templates from hanging or exhausting memory.</summary>
public sealed record JinjaLimits
{
    /// <summary>Total for-loop iterations in one render.</summary>
    public int MaxLoopIterations { get; init; } = 1_000_000;
    /// <summary>Nested macro calls.</summary>
    public int MaxCallDepth { get; init; } = 64;
    /// <summary>Total macro calls in one render (bounds non-looping exponential recursion).</summary>
    public int MaxMacroCalls { get; init; } = 100_000;
    /// <summary>Characters of output (including macro and set-block captures).</summary>
    public int MaxOutputChars { get; init; } = 32 * 1024 * 1024;

    public static JinjaLimits Default { get; } = new();
}

/// <summary>Everything one render needs: output buffer, current scope, variables, counters.</summary>
internal sealed class RenderState(IReadOnlyDictionary<string, object?> variables, JinjaLimits limits, Func<DateTime> now)
{
    public StringBuilder Out = new();
    public Scope Scope = new(null);
    public IReadOnlyDictionary<string, object?> Variables { get; } = variables;
    public JinjaLimits Limits { get; } = limits;
    public Func<DateTime> Now { get; } = now;
    public int LoopIterations;
    public int CallDepth;
    public int MacroCalls;

    public object? Lookup(string name)
    {
        if (Scope.TryGet(name, out var v)) return v;
        if (Variables.TryGetValue(name, out v)) return v;
        if (Globals.Table.TryGetValue(name, out var g)) return g;
        return Undefined.Name(name);
    }

    public void Write(string s)
    {
        Out.Append(s);
        if (Out.Length > Limits.MaxOutputChars)
            throw new TemplateRuntimeException($"output exceeds the limit of {Limits.MaxOutputChars} characters");
    }

    /// <summary>Runs <paramref name="body"/> with a fresh output buffer and returns what it wrote.</summary>
    public string Capture(Func<RenderState, Flow> body)
    {
        var saved = Out;
        Out = new StringBuilder();
        try
        {
            body(this);
            return Out.ToString();
        }
        finally { Out = saved; }
    }
}

/// <summary>A <c>{% macro %}</c>: called with positional/keyword arguments, returns its rendered body.</summary>
internal sealed class Macro(string name, string[] parameters, Func<RenderState, object?>?[] defaults,
    Func<RenderState, Flow> body, Scope closure) : IJinjaCallable
{
    public string Name { get; } = name;

    public object? Call(RenderState state, object?[] args, KeyValuePair<string, object?>[] kwargs)
    {
        if (state.CallDepth >= state.Limits.MaxCallDepth)
            throw new TemplateRuntimeException($"macro calls nested deeper than {state.Limits.MaxCallDepth} (recursion limit)");
        if (++state.MacroCalls > state.Limits.MaxMacroCalls)
            throw new TemplateRuntimeException($"more than {state.Limits.MaxMacroCalls} macro calls in one render");
        var scope = new Scope(closure);
        var extra = new List<object?>();
        var bound = new bool[parameters.Length];
        for (int i = 0; i < args.Length; i++)
        {
            if (i < parameters.Length) { scope.Set(parameters[i], args[i]); bound[i] = true; }
            else extra.Add(args[i]);
        }
        var extraKw = new PyDict();
        foreach (var kv in kwargs)
        {
            int idx = Array.IndexOf(parameters, kv.Key);
            if (idx < 0) { extraKw.Set(kv.Key, kv.Value); continue; }
            if (bound[idx]) throw new TemplateRuntimeException($"macro '{Name}' got multiple values for argument '{kv.Key}'");
            scope.Set(kv.Key, kv.Value);
            bound[idx] = true;
        }
        var savedScope = state.Scope;
        state.Scope = scope;
        state.CallDepth++;
        try
        {
            for (int i = 0; i < parameters.Length; i++)
                if (!bound[i])
                    scope.Set(parameters[i], defaults[i] is { } d ? d(state) : Undefined.Hint($"parameter '{parameters[i]}' was not provided"));
            scope.Set("varargs", extra);
            scope.Set("kwargs", extraKw);
            return state.Capture(body);
        }
        finally
        {
            state.CallDepth--;
            state.Scope = savedScope;
        }
    }
}
