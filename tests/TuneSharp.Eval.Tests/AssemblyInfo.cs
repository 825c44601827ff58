[assembly: Xunit.AssemblyFixture(typeof(TuneSharp.Testing.TorchFixture))]
