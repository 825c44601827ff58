[assembly: System.Runtime.CompilerServices.InternalsVisibleTo("TuneSharp.Core.Tests")]
