using System.Text.RegularExpressions;
using Asupersync.Model;

namespace Asupersync.Model.Tests;

/// <summary>The C# model, the Coq development and docs/FORMAL.md name the same rules: the document maps them one to one.</summary>
public class RuleMappingTests
{
    private static string Root()
    {
        var dir = new DirectoryInfo(AppContext.BaseDirectory);
        while (dir is not null && !File.Exists(Path.Combine(dir.FullName, "Asupersync.slnx"))) dir = dir.Parent;
        Assert.NotNull(dir);
        return dir.FullName;
    }

    [Fact]
    public void EveryModelRule_AndEveryCoqConstructor_IsInTheRuleTable()
    {
        var root = Root();
        var doc = File.ReadAllText(Path.Combine(root, "docs", "FORMAL.md"));
        var table = string.Join("\n", doc.Split('\n').Where(l => l.StartsWith('|')));
        foreach (var rule in Enum.GetNames<ModelRule>())
            Assert.True(Regex.IsMatch(table, $@"\b{rule}\b"), $"ModelRule.{rule} is missing from the rule table of docs/FORMAL.md");
        var coq = File.ReadAllText(Path.Combine(root, "formal", "Semantics.v"));
        var constructors = Regex.Matches(coq, @"^\| (s_\w+)", RegexOptions.Multiline).Select(m => m.Groups[1].Value).ToList();
        Assert.True(constructors.Count >= 30, $"only {constructors.Count} step constructors found in formal/Semantics.v");
        foreach (var c in constructors)
            Assert.True(table.Contains($"`{c}`", StringComparison.Ordinal), $"Coq constructor {c} is missing from the rule table of docs/FORMAL.md");
    }

    [Fact]
    public void TheProofsAdmitNothing()
    {
        // The same guard formal/check.sh applies before compiling (CI runs coqc itself).
        foreach (var f in Directory.GetFiles(Path.Combine(Root(), "formal"), "*.v"))
        {
            var text = Regex.Replace(File.ReadAllText(f), @"\(\*.*?\*\)", "", RegexOptions.Singleline);
            Assert.DoesNotMatch(@"\b(Admitted|admit|Axiom|Parameter|Hypothesis|Conjecture)\b", text);
        }
    }
}
