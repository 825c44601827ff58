using Xunit;

namespace TuneSharp.Training.Tests.Recipes;

/// <summary>
/// Real training runs. They run one at a time and never beside other tests: dropout draws from libtorch's process-wide
/// RNG, so a test drawing random numbers in parallel would change a run's masks and break the exact-resume comparisons.
/// </summary>
[CollectionDefinition("training", DisableParallelization = true)]
public sealed class TrainingCollection;
