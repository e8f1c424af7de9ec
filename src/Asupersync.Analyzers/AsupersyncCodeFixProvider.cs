using System.Collections.Immutable;
using System.Composition;
using System.Linq;
using System.Threading;
using System.Threading.Tasks;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CodeActions;
using Microsoft.CodeAnalysis.CodeFixes;
using Microsoft.CodeAnalysis.CSharp;
using Microsoft.CodeAnalysis.CSharp.Syntax;

namespace Asupersync.Analyzers;

/// <summary>
/// Fixes where the replacement is obvious and keeps the meaning: the runtime clock for the machine clock,
/// <c>cx.SleepAsync</c> for an awaited <c>Task.Delay</c>, <c>cx.NextRandom</c> for <c>Random.Shared.Next</c>, no
/// <c>ConfigureAwait(false)</c>, a <c>using</c> declaration for an unresolved obligation, the task's own Cx for a
/// captured one.
/// </summary>
[ExportCodeFixProvider(LanguageNames.CSharp, Name = nameof(AsupersyncCodeFixProvider)), Shared]
public sealed class AsupersyncCodeFixProvider : CodeFixProvider
{
    /// <inheritdoc />
    public override ImmutableArray<string> FixableDiagnosticIds { get; } = ImmutableArray.Create("ASY0001", "ASY0002", "ASY0004", "ASY0005", "ASY0007", "ASY0008");

    /// <inheritdoc />
    public override FixAllProvider GetFixAllProvider() => WellKnownFixAllProviders.BatchFixer;

    /// <inheritdoc />
    public override async Task RegisterCodeFixesAsync(CodeFixContext context)
    {
        var root = await context.Document.GetSyntaxRootAsync(context.CancellationToken).ConfigureAwait(false);
        if (root is null) return;
        foreach (var diagnostic in context.Diagnostics)
        {
            if (!diagnostic.Properties.TryGetValue(AsupersyncAnalyzer.FixProperty, out var fix) || fix is null) continue;
            diagnostic.Properties.TryGetValue(AsupersyncAnalyzer.CxProperty, out var cxName);
            cxName ??= "cx";
            var node = root.FindNode(diagnostic.Location.SourceSpan, getInnermostNodeForTie: true);
            var newRoot = Rewrite(root, node, fix, cxName, out string title);
            if (newRoot is null) continue;
            context.RegisterCodeFix(
                CodeAction.Create(title, _ => Task.FromResult(context.Document.WithSyntaxRoot(newRoot)), equivalenceKey: diagnostic.Id + ":" + fix),
                diagnostic);
        }
    }

    private static SyntaxNode? Rewrite(SyntaxNode root, SyntaxNode node, string fix, string cx, out string title)
    {
        title = "";
        switch (fix)
        {
            case "time:DateTimeOffset.UtcNow": return Replace(root, node, cx + ".UtcNow", out title);
            case "time:DateTimeOffset.Now": return Replace(root, node, cx + ".UtcNow.ToLocalTime()", out title);
            case "time:DateTime.UtcNow": return Replace(root, node, cx + ".UtcNow.UtcDateTime", out title);
            case "time:DateTime.Now": return Replace(root, node, cx + ".UtcNow.LocalDateTime", out title);
            case "delay":
                {
                    var inv = node.FirstAncestorOrSelf<InvocationExpressionSyntax>();
                    if (inv is null || inv.Parent is not AwaitExpressionSyntax || inv.ArgumentList.Arguments.Count != 1) return null;
                    var arg = inv.ArgumentList.Arguments[0].Expression;
                    // Task.Delay(int) takes milliseconds; SleepAsync a TimeSpan.
                    bool isNumber = arg is LiteralExpressionSyntax { RawKind: (int)SyntaxKind.NumericLiteralExpression };
                    string text = isNumber ? $"{cx}.SleepAsync(System.TimeSpan.FromMilliseconds({arg}))" : $"{cx}.SleepAsync({arg})";
                    return Replace(root, inv, text, out title);
                }
            case "random":
                {
                    // Random.Shared.Next(n) -> cx.NextRandom(n); Random.Shared.NextDouble() -> cx.NextRandomDouble()
                    if (node.Parent is not MemberAccessExpressionSyntax ma || ma.Parent is not InvocationExpressionSyntax inv) return null;
                    string? text = ma.Name.Identifier.ValueText switch
                    {
                        "Next" when inv.ArgumentList.Arguments.Count == 1 => $"{cx}.NextRandom({inv.ArgumentList.Arguments[0]})",
                        "NextDouble" when inv.ArgumentList.Arguments.Count == 0 => $"{cx}.NextRandomDouble()",
                        _ => null,
                    };
                    return text is null ? null : Replace(root, inv, text, out title);
                }
            case "configureawait":
                {
                    var inv = node.FirstAncestorOrSelf<InvocationExpressionSyntax>();
                    if (inv?.Expression is not MemberAccessExpressionSyntax ma) return null;
                    title = "Remove ConfigureAwait(false)";
                    return root.ReplaceNode(inv, ma.Expression.WithTriviaFrom(inv));
                }
            case "using":
                {
                    var decl = node.FirstAncestorOrSelf<LocalDeclarationStatementSyntax>();
                    if (decl is null || decl.Parent is not BlockSyntax) return null;
                    title = "Dispose it at the end of the scope ('using')";
                    var withUsing = decl.WithUsingKeyword(SyntaxFactory.Token(SyntaxKind.UsingKeyword).WithTrailingTrivia(SyntaxFactory.Space))
                        .WithLeadingTrivia(decl.GetLeadingTrivia());
                    return root.ReplaceNode(decl, withUsing.WithDeclaration(decl.Declaration.WithLeadingTrivia(SyntaxFactory.TriviaList())));
                }
            case "captured":
                {
                    if (node is not IdentifierNameSyntax id) id = node.DescendantNodesAndSelf().OfType<IdentifierNameSyntax>().FirstOrDefault()!;
                    if (id is null) return null;
                    title = $"Use this task's own '{cx}'";
                    return root.ReplaceNode(id, SyntaxFactory.IdentifierName(cx).WithTriviaFrom(id));
                }
        }
        return null;
    }

    private static SyntaxNode Replace(SyntaxNode root, SyntaxNode node, string text, out string title)
    {
        title = "Use " + text;
        return root.ReplaceNode(node, SyntaxFactory.ParseExpression(text).WithTriviaFrom(node));
    }
}
