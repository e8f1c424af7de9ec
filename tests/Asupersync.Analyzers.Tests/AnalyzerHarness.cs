using System.Collections.Immutable;
using System.Text.RegularExpressions;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CodeActions;
using Microsoft.CodeAnalysis.CodeFixes;
using Microsoft.CodeAnalysis.CSharp;
using Microsoft.CodeAnalysis.Diagnostics;
using Microsoft.CodeAnalysis.Text;

namespace Asupersync.Analyzers.Tests;

/// <summary>
/// Compiles a snippet against the running framework and the Asupersync kernel, runs the analyzer, and compares its
/// diagnostics with the snippet's markup: <c>{|ASY0001:DateTime.Now|}</c> says ASY0001 is expected exactly on that
/// span; no markup means no diagnostic. Snippets must compile (a compiler error fails the test: a rule must never be
/// checked against code that could not exist).
/// </summary>
internal static class AnalyzerHarness
{
    private static readonly Regex Markup = new(@"\{\|(ASY\d{4}):(.*?)\|\}", RegexOptions.Singleline);

    private static readonly ImmutableArray<MetadataReference> References = LoadReferences();

    private static ImmutableArray<MetadataReference> LoadReferences()
    {
        var paths = ((string)AppContext.GetData("TRUSTED_PLATFORM_ASSEMBLIES")!).Split(Path.PathSeparator)
            .Where(p => Path.GetFileName(p).StartsWith("System.", StringComparison.Ordinal) || Path.GetFileName(p) is "mscorlib.dll" or "netstandard.dll")
            .Append(typeof(Cx).Assembly.Location)
            .DistinctBy(Path.GetFileName);
        return paths.Select(p => (MetadataReference)MetadataReference.CreateFromFile(p)).ToImmutableArray();
    }

    internal const string Usings = "using System;\nusing System.Threading;\nusing System.Threading.Tasks;\nusing Asupersync;\nusing Asupersync.Channels;\n";

    internal static (string Source, List<(string Id, TextSpan Span)> Expected) Parse(string markup)
    {
        var expected = new List<(string, TextSpan)>();
        var sb = new System.Text.StringBuilder();
        int last = 0;
        foreach (Match m in Markup.Matches(markup))
        {
            sb.Append(markup, last, m.Index - last);
            int start = sb.Length;
            sb.Append(m.Groups[2].Value);
            expected.Add((m.Groups[1].Value, TextSpan.FromBounds(start, sb.Length)));
            last = m.Index + m.Length;
        }
        sb.Append(markup, last, markup.Length - last);
        return (sb.ToString(), expected);
    }

    internal static Document CreateDocument(string source)
    {
        var ws = new AdhocWorkspace();
        var project = ws.AddProject("Snippet", LanguageNames.CSharp)
            .WithCompilationOptions(new CSharpCompilationOptions(OutputKind.DynamicallyLinkedLibrary, nullableContextOptions: NullableContextOptions.Enable))
            .WithParseOptions(new CSharpParseOptions(LanguageVersion.Latest))
            .WithMetadataReferences(References);
        return project.AddDocument("Snippet.cs", SourceText.From(source));
    }

    internal static async Task<ImmutableArray<Diagnostic>> DiagnosticsAsync(Document doc)
    {
        var compilation = (await doc.Project.GetCompilationAsync())!;
        var errors = compilation.GetDiagnostics().Where(d => d.Severity == DiagnosticSeverity.Error).ToList();
        Assert.True(errors.Count == 0, "the snippet does not compile:\n" + string.Join("\n", errors) + "\n" + (await doc.GetTextAsync()));
        var diags = await compilation.WithAnalyzers([new AsupersyncAnalyzer()]).GetAnalyzerDiagnosticsAsync();
        return diags.OrderBy(d => d.Location.SourceSpan.Start).ToImmutableArray();
    }

    /// <summary>Asserts the analyzer reports exactly the marked diagnostics.</summary>
    internal static async Task VerifyAsync(string markup)
    {
        var (source, expected) = Parse(Usings + markup);
        var actual = await DiagnosticsAsync(CreateDocument(source));
        var got = actual.Select(d => $"{d.Id} '{source.Substring(d.Location.SourceSpan.Start, d.Location.SourceSpan.Length)}'").ToList();
        var want = expected.Select(e => $"{e.Id} '{source.Substring(e.Span.Start, e.Span.Length)}'").ToList();
        Assert.Equal(want, got);
        foreach (var (d, e) in actual.Zip(expected)) Assert.Equal(e.Span, d.Location.SourceSpan);
    }

    /// <summary>Applies the code fix for the one marked diagnostic and asserts the result (which must compile and be clean of it).</summary>
    internal static async Task VerifyFixAsync(string markup, string fixedSource)
    {
        var (source, expected) = Parse(Usings + markup);
        Assert.Single(expected);
        var doc = CreateDocument(source);
        var diag = Assert.Single(await DiagnosticsAsync(doc), d => d.Id == expected[0].Id);
        var actions = new List<CodeAction>();
        var provider = new AsupersyncCodeFixProvider();
        await provider.RegisterCodeFixesAsync(new CodeFixContext(doc, diag, (a, _) => actions.Add(a), CancellationToken.None));
        var action = Assert.Single(actions);
        var ops = await action.GetOperationsAsync(CancellationToken.None);
        var changed = ops.OfType<ApplyChangesOperation>().Single().ChangedSolution.GetDocument(doc.Id)!;
        var text = (await changed.GetTextAsync()).ToString();
        Assert.Equal(Usings + fixedSource, text);
        var after = await DiagnosticsAsync(changed);
        Assert.DoesNotContain(after, d => d.Id == expected[0].Id);
    }
}
