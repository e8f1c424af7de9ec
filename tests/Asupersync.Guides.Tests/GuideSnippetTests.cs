using System.Text.RegularExpressions;

namespace Asupersync.Guides.Tests;

/// <summary>
/// Every C# block in docs/guides is compiled: it must be preceded by <c>&lt;!-- snippet: name --&gt;</c> and be, line
/// for line, the region <c>// &lt;snippet name&gt;</c> … <c>// &lt;/snippet&gt;</c> of a file in Snippets/ (which this
/// project compiles, and whose behaviour the other tests run). A guide edited without its snippet, or the reverse,
/// fails here.
/// </summary>
public sealed class GuideSnippetTests
{
    private static readonly Regex Block = new(@"(?:<!-- snippet: (?<name>[\w-]+) -->\s*\n)?```csharp\n(?<code>.*?)\n```", RegexOptions.Singleline);
    private static readonly Regex Region = new(@"^[ \t]*// <snippet (?<name>[\w-]+)>\n(?<code>.*?)\n[ \t]*// </snippet>", RegexOptions.Singleline | RegexOptions.Multiline);

    internal static string RepoRoot()
    {
        for (var d = new DirectoryInfo(AppContext.BaseDirectory); d is not null; d = d.Parent)
            if (File.Exists(Path.Combine(d.FullName, "Asupersync.slnx"))) return d.FullName;
        throw new InvalidOperationException("repository root (Asupersync.slnx) not found above " + AppContext.BaseDirectory);
    }

    private static string Dedent(string code)
    {
        var lines = code.Replace("\r\n", "\n").Split('\n');
        int indent = lines.Where(l => l.Trim().Length > 0).Select(l => l.Length - l.TrimStart().Length).DefaultIfEmpty(0).Min();
        return string.Join("\n", lines.Select(l => l.Length >= indent ? l[indent..] : l.TrimStart()).Select(l => l.TrimEnd())).Trim('\n');
    }

    private static Dictionary<string, string> Snippets()
    {
        var dir = Path.Combine(RepoRoot(), "tests", "Asupersync.Guides.Tests", "Snippets");
        var all = new Dictionary<string, string>();
        foreach (var f in Directory.GetFiles(dir, "*.cs"))
            foreach (Match m in Region.Matches(File.ReadAllText(f).Replace("\r\n", "\n")))
                all.Add(m.Groups["name"].Value, Dedent(m.Groups["code"].Value));
        return all;
    }

    public static TheoryData<string> Guides()
    {
        var data = new TheoryData<string>();
        foreach (var f in Directory.GetFiles(Path.Combine(RepoRoot(), "docs", "guides"), "*.md").Order()) data.Add(Path.GetFileName(f));
        return data;
    }

    [Theory]
    [MemberData(nameof(Guides))]
    public void EveryCSharpBlock_IsACompiledSnippet(string guide)
    {
        var text = File.ReadAllText(Path.Combine(RepoRoot(), "docs", "guides", guide)).Replace("\r\n", "\n");
        var snippets = Snippets();
        foreach (Match m in Block.Matches(text))
        {
            var name = m.Groups["name"].Value;
            Assert.True(name.Length > 0, $"{guide}: a csharp block without a '<!-- snippet: name -->' line before it:\n{m.Groups["code"].Value}");
            Assert.True(snippets.TryGetValue(name, out var code), $"{guide}: no snippet '{name}' in tests/Asupersync.Guides.Tests/Snippets");
            Assert.Equal(code, Dedent(m.Groups["code"].Value));
        }
    }

    [Fact]
    public void TheGuidesExist_AndQuoteSnippets()
    {
        var guides = Directory.GetFiles(Path.Combine(RepoRoot(), "docs", "guides"), "*.md");
        Assert.True(guides.Length >= 3);
        int blocks = guides.Sum(g => Block.Matches(File.ReadAllText(g)).Count);
        Assert.True(blocks >= 10, $"only {blocks} snippets in the guides");
    }
}
