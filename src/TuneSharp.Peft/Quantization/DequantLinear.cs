using TorchSharp;
using static TorchSharp.torch;

namespace TuneSharp.Peft.Quantization;

/// <summary>
/// y = x W^T (+ b) for a frozen quantized W, dequantizing W again in backward instead of letting autograd keep the
/// dequantized copy alive until then. Without this, every projection of a QLoRA model exists once more in full
/// precision during a training step, and a step peaked higher than LoRA on a bf16 base (bench/TuneSharp.Bench.Qlora).
/// The codes get no gradient; the input gradient is grad_y W.
/// </summary>
public static class DequantLinear
{
    public static Tensor Apply(Tensor x, QuantizedWeight weight, ScalarType dtype, Tensor? bias)
    {
        using var scope = NewDisposeScope();
        Tensor y;
        if (!is_grad_enabled() || !x.requires_grad)
        {
            using var w = weight.Dequantize(dtype);
            y = nn.functional.linear(x, w);
        }
        else
        {
            y = Function.apply(x, weight, dtype);
        }
        if (bias is not null) y = y + bias;
        return y.MoveToOuterDisposeScope();
    }

    sealed class Function : autograd.SingleTensorFunction<Function>
    {
        // The gradient handed back last time: libtorch copies it when backward returns; released at the next call.
        [ThreadStatic] static Tensor? s_returned;

        public override string Name => "TuneSharpDequantLinear";

        public override Tensor forward(autograd.AutogradContext ctx, params object[] vars)
        {
            var (x, weight, dtype) = ((Tensor)vars[0], (QuantizedWeight)vars[1], (ScalarType)vars[2]);
            using var w = weight.Dequantize(dtype); // freed right after the matmul
            ctx.save_data("weight", weight);
            ctx.save_data("dtype", dtype);
            ctx.save_data("inputs", vars.Length);
            return nn.functional.linear(x, w);
        }

        public override List<Tensor> backward(autograd.AutogradContext ctx, Tensor gradOutput)
        {
            s_returned?.Dispose();
            var weight = (QuantizedWeight)ctx.get_data("weight");
            var grads = new List<Tensor>(new Tensor[(int)ctx.get_data("inputs")]); // null = no gradient (codes, dtype)
            using (var scope = NewDisposeScope())
            {
                var w = weight.Dequantize(gradOutput.dtype);          // [out, in], same dtype as the incoming gradient
                s_returned = nn.functional.linear(gradOutput, w.t()); // grad_x = grad_y W: [.., out] x [out, in]
                s_returned = s_returned.MoveToOuterDisposeScope();
            }
            grads[0] = s_returned;
            gradOutput.Dispose();
            return grads;
        }
    }
}
