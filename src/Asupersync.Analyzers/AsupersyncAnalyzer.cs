using System.Collections.Immutable;
using System.Linq;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp;
using Microsoft.CodeAnalysis.CSharp.Syntax;
using Microsoft.CodeAnalysis.Diagnostics;
using Microsoft.CodeAnalysis.Operations;

namespace Asupersync.Analyzers;

/// <summary>
/// ASY0001–ASY0008: the rules the runtime's model rests on, checked where user code meets it — inside any method,
/// local function or lambda that takes a <c>Cx</c>. Code outside such a scope (a console front end, a test's
/// arrange step) is not runtime-managed and is left alone.
/// </summary>
[DiagnosticAnalyzer(LanguageNames.CSharp)]
public sealed class AsupersyncAnalyzer : DiagnosticAnalyzer
{
    /// <summary>The property a diagnostic carries with the name of the Cx parameter in scope (for the code fixes).</summary>
    internal const string CxProperty = "cx";

    /// <summary>The property a diagnostic carries saying which fix applies.</summary>
    internal const string FixProperty = "fix";

    /// <inheritdoc />
    public override ImmutableArray<DiagnosticDescriptor> SupportedDiagnostics { get; } = ImmutableArray.Create(
        Descriptors.AmbientTime, Descriptors.AmbientDelay, Descriptors.AmbientSpawn, Descriptors.AmbientRandom,
        Descriptors.ConfigureAwaitFalse, Descriptors.RawSocket, Descriptors.UnresolvedObligation, Descriptors.CapturedCx);

    /// <inheritdoc />
    public override void Initialize(AnalysisContext context)
    {
        context.ConfigureGeneratedCodeAnalysis(GeneratedCodeAnalysisFlags.None);
        context.EnableConcurrentExecution();
        context.RegisterCompilationStartAction(start =>
        {
            var c = start.Compilation;
            var cx = c.GetTypeByMetadataName(CxContext.CxTypeName);
            if (cx is null) return; // not an Asupersync program
            var types = new Types(c);
            start.RegisterOperationAction(ctx => OnPropertyReference(ctx, types), OperationKind.PropertyReference);
            start.RegisterOperationAction(ctx => OnInvocation(ctx, types), OperationKind.Invocation);
            start.RegisterOperationAction(ctx => OnObjectCreation(ctx, types), OperationKind.ObjectCreation);
            start.RegisterOperationAction(OnParameterReference, OperationKind.ParameterReference);
            start.RegisterSyntaxNodeAction(ctx => OnLocalDeclaration(ctx, types), SyntaxKind.LocalDeclarationStatement);
        });
    }

    private sealed class Types
    {
        internal readonly INamedTypeSymbol? DateTime, DateTimeOffset, Environment, Task, TaskFactory, Thread, ThreadPool, Random;
        internal readonly INamedTypeSymbol?[] Sockets;
        internal readonly INamedTypeSymbol? Obligation, SendPermit;

        internal Types(Compilation c)
        {
            DateTime = c.GetSpecialType(SpecialType.System_DateTime);
            DateTimeOffset = c.GetTypeByMetadataName("System.DateTimeOffset");
            Environment = c.GetTypeByMetadataName("System.Environment");
            Task = c.GetTypeByMetadataName("System.Threading.Tasks.Task");
            TaskFactory = c.GetTypeByMetadataName("System.Threading.Tasks.TaskFactory");
            Thread = c.GetTypeByMetadataName("System.Threading.Thread");
            ThreadPool = c.GetTypeByMetadataName("System.Threading.ThreadPool");
            Random = c.GetTypeByMetadataName("System.Random");
            Sockets = new[]
            {
                c.GetTypeByMetadataName("System.Net.Sockets.Socket"), c.GetTypeByMetadataName("System.Net.Sockets.TcpClient"),
                c.GetTypeByMetadataName("System.Net.Sockets.TcpListener"), c.GetTypeByMetadataName("System.Net.Sockets.UdpClient"),
            };
            Obligation = c.GetTypeByMetadataName("Asupersync.Obligation");
            SendPermit = c.GetTypeByMetadataName("Asupersync.Channels.SendPermit`1");
        }

        internal bool IsObligationLike(ITypeSymbol? t) =>
            t is INamedTypeSymbol n && (Same(n, Obligation) || Same(n.OriginalDefinition, SendPermit));
    }

    private static bool Same(ISymbol? a, ISymbol? b) => a is not null && b is not null && SymbolEqualityComparer.Default.Equals(a, b);

    private static void Report(OperationAnalysisContext ctx, DiagnosticDescriptor d, SyntaxNode at, IParameterSymbol cx, string? fix, params object[] args)
    {
        var props = ImmutableDictionary<string, string?>.Empty.Add(CxProperty, cx.Name);
        if (fix is not null) props = props.Add(FixProperty, fix);
        ctx.ReportDiagnostic(Diagnostic.Create(d, at.GetLocation(), props, args));
    }

    private static void OnPropertyReference(OperationAnalysisContext ctx, Types t)
    {
        var op = (IPropertyReferenceOperation)ctx.Operation;
        var p = op.Property;
        if (!p.IsStatic) return;
        var owner = p.ContainingType;
        string? fix = null;
        string? replacement = null;
        if (Same(owner, t.DateTime) && p.Name is "Now" or "UtcNow" or "Today")
        {
            fix = p.Name == "Today" ? null : "time:DateTime." + p.Name;
            replacement = p.Name == "UtcNow" ? "cx.UtcNow.UtcDateTime" : "cx.UtcNow.LocalDateTime";
        }
        else if (Same(owner, t.DateTimeOffset) && p.Name is "Now" or "UtcNow")
        {
            fix = "time:DateTimeOffset." + p.Name;
            replacement = p.Name == "UtcNow" ? "cx.UtcNow" : "cx.UtcNow.ToLocalTime()";
        }
        else if (Same(owner, t.Environment) && p.Name is "TickCount" or "TickCount64")
        {
            replacement = "cx.Now";
        }
        else if (Same(owner, t.Random) && p.Name == "Shared")
        {
            var cxr = CxContext.NearestCx(op.Syntax, op.SemanticModel!, ctx.CancellationToken);
            if (cxr is not null) Report(ctx, Descriptors.AmbientRandom, op.Syntax, cxr, "random", "Random.Shared", cxr.Name);
            return;
        }
        if (replacement is null) return;
        var cxp = CxContext.NearestCx(op.Syntax, op.SemanticModel!, ctx.CancellationToken);
        if (cxp is null) return;
        Report(ctx, Descriptors.AmbientTime, op.Syntax, cxp, fix, owner.Name + "." + p.Name, replacement.Replace("cx.", cxp.Name + "."));
    }

    private static void OnInvocation(OperationAnalysisContext ctx, Types t)
    {
        var op = (IInvocationOperation)ctx.Operation;
        var m = op.TargetMethod;
        var owner = m.ContainingType;
        if (t.IsObligationLike(m.ReturnType) && op.Parent is IExpressionStatementOperation or IDiscardOperation or ISimpleAssignmentOperation { Target: IDiscardOperation })
        {
            var cxo = CxContext.NearestCx(op.Syntax, op.SemanticModel!, ctx.CancellationToken);
            if (cxo is not null) Report(ctx, Descriptors.UnresolvedObligation, op.Syntax, cxo, null, "obligation returned by", m.Name);
            return;
        }
        DiagnosticDescriptor? d = null;
        string? fix = null;
        if (Same(owner, t.Task) && m.Name == "Delay") { d = Descriptors.AmbientDelay; fix = op.Arguments.Length == 1 ? "delay" : null; }
        else if (Same(owner, t.Thread) && m.Name == "Sleep") d = Descriptors.AmbientDelay;
        else if ((Same(owner, t.Task) && m.Name == "Run") || (Same(owner, t.TaskFactory) && m.Name == "StartNew")
                 || (Same(owner, t.ThreadPool) && m.Name.EndsWith("QueueUserWorkItem", System.StringComparison.Ordinal)))
            d = Descriptors.AmbientSpawn;
        else if (m.Name == "ConfigureAwait" && op.Arguments.Length == 1 && op.Arguments[0].Value.ConstantValue is { HasValue: true, Value: false })
            d = Descriptors.ConfigureAwaitFalse;
        if (d is null) return;
        var cx = CxContext.NearestCx(op.Syntax, op.SemanticModel!, ctx.CancellationToken);
        if (cx is null) return;
        string shown = owner.Name + "." + m.Name;
        if (d == Descriptors.ConfigureAwaitFalse) Report(ctx, d, op.Syntax, cx, "configureawait");
        else Report(ctx, d, op.Syntax, cx, fix, shown, cx.Name);
    }

    private static void OnObjectCreation(OperationAnalysisContext ctx, Types t)
    {
        var op = (IObjectCreationOperation)ctx.Operation;
        var type = op.Type as INamedTypeSymbol;
        DiagnosticDescriptor? d = null;
        if (Same(type, t.Thread)) d = Descriptors.AmbientSpawn;
        else if (Same(type, t.Random)) d = Descriptors.AmbientRandom;
        else if (t.Sockets.Any(s => Same(type, s))) d = Descriptors.RawSocket;
        if (d is null) return;
        var cx = CxContext.NearestCx(op.Syntax, op.SemanticModel!, ctx.CancellationToken);
        if (cx is null) return;
        Report(ctx, d, op.Syntax, cx, null, "new " + type!.Name, cx.Name);
    }

    private static void OnParameterReference(OperationAnalysisContext ctx)
    {
        var op = (IParameterReferenceOperation)ctx.Operation;
        if (!CxContext.IsCx(op.Parameter.Type)) return;
        var nearest = CxContext.NearestCx(op.Syntax, op.SemanticModel!, ctx.CancellationToken);
        if (nearest is null || Same(nearest, op.Parameter)) return;
        // The reference sits inside a function with its own Cx, and names the Cx of an enclosing one.
        Report(ctx, Descriptors.CapturedCx, op.Syntax, nearest, "captured", op.Parameter.Name, nearest.Name);
    }

    private static void OnLocalDeclaration(SyntaxNodeAnalysisContext ctx, Types t)
    {
        var decl = (LocalDeclarationStatementSyntax)ctx.Node;
        if (decl.UsingKeyword != default) return;
        var model = ctx.SemanticModel;
        var cx = CxContext.NearestCx(decl, model, ctx.CancellationToken);
        if (cx is null) return;
        var scope = decl.Parent;
        if (scope is null) return;
        foreach (var v in decl.Declaration.Variables)
        {
            if (v.Initializer is null) continue;
            if (model.GetDeclaredSymbol(v, ctx.CancellationToken) is not ILocalSymbol local || !t.IsObligationLike(local.Type)) continue;
            if (IsResolvedOrEscapes(local, scope, model, ctx.CancellationToken)) continue;
            var props = ImmutableDictionary<string, string?>.Empty.Add(CxProperty, cx.Name).Add(FixProperty, decl.Declaration.Variables.Count == 1 ? "using" : null);
            ctx.ReportDiagnostic(Diagnostic.Create(Descriptors.UnresolvedObligation, v.Identifier.GetLocation(), props,
                local.Type.Name == "Obligation" ? "obligation" : "permit", local.Name));
        }
    }

    /// <summary>
    /// True when some use of <paramref name="local"/> may resolve it: any method called on it, or any use that is not
    /// a property read (passed, returned, stored, captured, disposed by a using statement). Only a local that is
    /// never used, or only read from, is reported: a flow analysis of every path is the runtime's job (it fails the task).
    /// </summary>
    private static bool IsResolvedOrEscapes(ILocalSymbol local, SyntaxNode scope, SemanticModel model, System.Threading.CancellationToken ct)
    {
        foreach (var id in scope.DescendantNodes().OfType<IdentifierNameSyntax>())
        {
            if (id.Identifier.ValueText != local.Name) continue;
            if (!Same(model.GetSymbolInfo(id, ct).Symbol, local)) continue;
            if (id.Parent is MemberAccessExpressionSyntax ma && ma.Expression == id)
            {
                if (ma.Parent is InvocationExpressionSyntax) return true; // Commit/Abort/Dispose/Send/...
                if (ma.Parent is AssignmentExpressionSyntax) return true;
                continue; // a property read: does not resolve
            }
            if (id.Parent is ConditionalAccessExpressionSyntax) return true;
            return true; // passed, returned, stored, used in a using statement, ...
        }
        return false;
    }
}
