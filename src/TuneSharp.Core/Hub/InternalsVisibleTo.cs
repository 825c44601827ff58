[assembly: System.Runtime.CompilerServices.InternalsVisibleTo("TuneSharp.Core.Tests")]
[assembly: System.Runtime.CompilerServices.InternalsVisibleTo("TuneSharp.Testing")]
