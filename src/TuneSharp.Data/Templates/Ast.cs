namespace TuneSharp.Data.Templates;

// The parsed template. Pos is the source offset of the node (for error locations).

internal abstract record Expr(int Pos);
internal sealed record ConstExpr(int Pos, object? Value) : Expr(Pos);
internal sealed record NameExpr(int Pos, string Name) : Expr(Pos);
internal sealed record GetAttrExpr(int Pos, Expr Obj, string Attr) : Expr(Pos);
internal sealed record GetItemExpr(int Pos, Expr Obj, Expr Key) : Expr(Pos);
internal sealed record SliceExpr(int Pos, Expr Obj, Expr? Start, Expr? Stop, Expr? Step) : Expr(Pos);
internal sealed record CallExpr(int Pos, Expr Callee, Expr[] Args, KeyValuePair<string, Expr>[] Kwargs) : Expr(Pos);
/// <summary>A filter application; Input is null inside a <c>{% filter %}</c> block head.</summary>
internal sealed record FilterExpr(int Pos, Expr? Input, string Name, Expr[] Args, KeyValuePair<string, Expr>[] Kwargs) : Expr(Pos);
internal sealed record TestExpr(int Pos, Expr Input, string Name, Expr[] Args, bool Negated) : Expr(Pos);
internal sealed record BinaryExpr(int Pos, string Op, Expr Left, Expr Right) : Expr(Pos);
internal sealed record UnaryExpr(int Pos, string Op, Expr Operand) : Expr(Pos);
internal sealed record ConcatExpr(int Pos, Expr[] Parts) : Expr(Pos);
internal sealed record CompareExpr(int Pos, Expr First, KeyValuePair<string, Expr>[] Rest) : Expr(Pos);
internal sealed record CondExpr(int Pos, Expr Test, Expr Then, Expr? Else) : Expr(Pos);
internal sealed record ListExpr(int Pos, Expr[] Items) : Expr(Pos);
internal sealed record TupleExpr(int Pos, Expr[] Items) : Expr(Pos);
internal sealed record DictExpr(int Pos, KeyValuePair<Expr, Expr>[] Items) : Expr(Pos);

internal abstract record Target(int Pos);
internal sealed record NameTarget(int Pos, string Name) : Target(Pos);
internal sealed record TupleTarget(int Pos, Target[] Items) : Target(Pos);
internal sealed record NamespaceTarget(int Pos, string Namespace, string Attr) : Target(Pos);

internal abstract record Stmt(int Pos);
internal sealed record TextStmt(int Pos, string Text) : Stmt(Pos);
internal sealed record OutputStmt(int Pos, Expr Value) : Stmt(Pos);
internal sealed record IfStmt(int Pos, Expr Test, Stmt[] Body, Stmt[] Else) : Stmt(Pos);
internal sealed record ForStmt(int Pos, Target Target, Expr Iter, Expr? Filter, Stmt[] Body, Stmt[] Else) : Stmt(Pos);
internal sealed record SetStmt(int Pos, Target Target, Expr Value) : Stmt(Pos);
internal sealed record SetBlockStmt(int Pos, Target Target, Stmt[] Body, FilterExpr[] Filters) : Stmt(Pos);
internal sealed record MacroStmt(int Pos, string Name, string[] Params, Expr?[] Defaults, Stmt[] Body) : Stmt(Pos);
internal sealed record FilterBlockStmt(int Pos, FilterExpr[] Filters, Stmt[] Body) : Stmt(Pos);
internal sealed record WithStmt(int Pos, Target[] Targets, Expr[] Values, Stmt[] Body) : Stmt(Pos);
internal sealed record BreakStmt(int Pos) : Stmt(Pos);
internal sealed record ContinueStmt(int Pos) : Stmt(Pos);
