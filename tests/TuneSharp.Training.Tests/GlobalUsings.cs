// The label policy and truncation enums are the data layer's; the config binds to them directly.
global using TrainOn = TuneSharp.Data.Encoding.TrainOn;
global using Truncation = TuneSharp.Data.Encoding.Truncation;
global using TextSplit = TuneSharp.Data.TextSplit;
