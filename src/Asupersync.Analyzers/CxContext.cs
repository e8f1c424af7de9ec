using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp;
using Microsoft.CodeAnalysis.CSharp.Syntax;

namespace Asupersync.Analyzers;

/// <summary>Finds the runtime-managed scope of a node: the nearest enclosing function that takes a <c>Asupersync.Cx</c>.</summary>
internal static class CxContext
{
    internal const string CxTypeName = "Asupersync.Cx";

    /// <summary>The Cx parameter of the nearest enclosing method, local function or lambda that has one, or null.</summary>
    internal static IParameterSymbol? NearestCx(SyntaxNode node, SemanticModel model, System.Threading.CancellationToken ct)
    {
        for (var n = node.Parent; n is not null; n = n.Parent)
        {
            ParameterListSyntax? list = n switch
            {
                BaseMethodDeclarationSyntax m => m.ParameterList,
                LocalFunctionStatementSyntax f => f.ParameterList,
                ParenthesizedLambdaExpressionSyntax l => l.ParameterList,
                AnonymousMethodExpressionSyntax a => a.ParameterList,
                _ => null,
            };
            if (n is SimpleLambdaExpressionSyntax simple)
            {
                if (model.GetDeclaredSymbol(simple.Parameter, ct) is IParameterSymbol p && IsCx(p.Type)) return p;
                continue;
            }
            if (list is null) continue;
            foreach (var ps in list.Parameters)
                if (model.GetDeclaredSymbol(ps, ct) is IParameterSymbol p && IsCx(p.Type)) return p;
        }
        return null;
    }

    internal static bool IsCx(ITypeSymbol? type) => type is not null && type.ToDisplayString() == CxTypeName;

    internal static bool IsInside(SyntaxNode node, SyntaxNode? scope) => scope is not null && scope.Span.Contains(node.Span) && node.SyntaxTree == scope.SyntaxTree;

    internal static string Name(IParameterSymbol? cx) => cx?.Name ?? "cx";

    internal static bool IsCSharp(SyntaxNode node) => node.Language == LanguageNames.CSharp;
}
