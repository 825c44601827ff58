using TorchSharp;
using static TorchSharp.torch;

namespace TuneSharp.Models.Common;

/// <summary>
/// Activation recomputation ("gradient checkpointing") for one decoder layer. TorchSharp has no
/// torch.utils.checkpoint, so this is a custom autograd Function: forward runs the layer without building a graph and
/// keeps only its input (and the shared RoPE tables and mask); backward re-runs the layer with grad enabled and
/// back-propagates the incoming gradient through the recomputed graph. Parameter gradients are accumulated into .grad
/// by that inner backward; the Function returns only the input's gradient.
/// </summary>
public static class Checkpointing
{
    /// <summary>
    /// <paramref name="layer"/>(x, ctx) with recomputation in backward. Without grad mode, or when neither x nor any
    /// parameter of the layer requires grad, it is a plain call. A KV cache is not supported (decoding never trains).
    /// </summary>
    public static Tensor Run(nn.Module<Tensor, LayerContext, Tensor> layer, Tensor x, LayerContext ctx)
    {
        if (ctx.Cache is not null)
            throw new InvalidOperationException("gradient checkpointing cannot run with a KV cache (the recomputation would write it twice)");
        // The trainable parameters are passed as Function inputs so the node is part of the graph even when x does
        // not require grad (frozen embeddings under LoRA); their gradients come from the inner backward, not from here.
        var trainable = layer.parameters().Where(p => p.requires_grad).ToArray();
        if (!is_grad_enabled() || (!x.requires_grad && trainable.Length == 0)) return layer.call(x, ctx);
        object[] vars = [x, ctx, layer, .. trainable];
        return LayerRecompute.apply(vars);
    }

    /// <summary>The Function. Inputs: x, the context, the layer, then the layer's trainable parameters.</summary>
    sealed class LayerRecompute : autograd.SingleTensorFunction<LayerRecompute>
    {
        // The input gradient handed back to libtorch last time: libtorch copies it as soon as backward returns, so the
        // managed handle is released at the next call instead of waiting for the caller's dispose scope.
        [ThreadStatic] static Tensor? s_returned;

        public override string Name => "TuneSharpLayerRecompute";

        public override Tensor forward(autograd.AutogradContext ctx, params object[] vars)
        {
            var (x, lctx, layer) = ((Tensor)vars[0], (LayerContext)vars[1], (nn.Module<Tensor, LayerContext, Tensor>)vars[2]);
            // The CPU RNG state before the layer, so dropout draws the same masks when the layer is recomputed.
            var rng = random.get_rng_state();
            var y = layer.call(x, lctx); // grad mode is off here (the Function runs forward under no_grad)
            // Saved after forward returns, as libtorch references: the managed wrappers may be disposed by the caller's scope.
            ctx.save_for_backward([x, lctx.Cos, lctx.Sin, lctx.Mask, rng]);
            ctx.save_data("layer", layer);
            ctx.save_data("kernel", lctx.Kernel);
            ctx.save_data("inputNeedsGrad", x.requires_grad);
            ctx.save_data("inputs", vars.Length);
            return y;
        }

        public override List<Tensor> backward(autograd.AutogradContext ctx, Tensor gradOutput)
        {
            s_returned?.Dispose();
            s_returned = null;
            var layer = (nn.Module<Tensor, LayerContext, Tensor>)ctx.get_data("layer");
            bool inputNeedsGrad = (bool)ctx.get_data("inputNeedsGrad");
            var grads = new List<Tensor>(new Tensor[(int)ctx.get_data("inputs")]); // null = no gradient

            using (var scope = NewDisposeScope())
            {
                var saved = ctx.get_saved_variables(); // x, cos, sin, mask, rng
                // A fresh leaf: the recomputed graph ends here, and its .grad is the gradient to hand back.
                var x = saved[0].detach().requires_grad_(inputNeedsGrad);
                var current = random.get_rng_state();
                random.set_rng_state(saved[4]);
                try
                {
                    using var gradMode = enable_grad();
                    var y = layer.call(x, new LayerContext(saved[1], saved[2], saved[3], null, (AttentionKernel)ctx.get_data("kernel")));
                    y.backward([gradOutput]); // accumulates into every trainable parameter's .grad
                }
                finally
                {
                    random.set_rng_state(current);
                }
                if (inputNeedsGrad)
                {
                    s_returned = x.grad!.MoveToOuterDisposeScope();
                    grads[0] = s_returned;
                }
            }
            gradOutput.Dispose(); // our wrapper of libtorch's incoming gradient
            return grads;
        }
    }
}
