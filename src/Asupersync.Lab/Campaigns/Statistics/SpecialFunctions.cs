namespace Asupersync.Lab.Campaigns.Statistics;

/// <summary>Log-gamma and log-beta, the only special functions the campaign statistics need.</summary>
internal static class SpecialFunctions
{
    // Lanczos approximation with g = 7 and nine coefficients (Numerical Recipes / Godfrey's published table):
    // relative error below 1e-13 for positive arguments, which is far finer than any bound we report.
    private static readonly double[] Lanczos =
    [
        0.99999999999980993, 676.5203681218851, -1259.1392167224028, 771.32342877765313, -176.61502916214059,
        12.507343278686905, -0.13857109526572012, 9.9843695780195716e-6, 1.5056327351493116e-7,
    ];

    /// <summary>ln Γ(x) for x &gt; 0.</summary>
    internal static double LogGamma(double x)
    {
        if (!(x > 0)) throw new ArgumentOutOfRangeException(nameof(x), x, "LogGamma is defined here for positive arguments only.");
        // Reflection keeps the series accurate near zero: Γ(x)Γ(1−x) = π / sin(πx).
        if (x < 0.5) return Math.Log(Math.PI / Math.Sin(Math.PI * x)) - LogGamma(1 - x);
        x -= 1;
        double sum = Lanczos[0];
        double t = x + 7.5;
        for (int i = 1; i < Lanczos.Length; i++) sum += Lanczos[i] / (x + i);
        return 0.5 * Math.Log(2 * Math.PI) + (x + 0.5) * Math.Log(t) - t + Math.Log(sum);
    }

    /// <summary>ln B(a, b) = ln Γ(a) + ln Γ(b) − ln Γ(a + b).</summary>
    internal static double LogBeta(double a, double b) => LogGamma(a) + LogGamma(b) - LogGamma(a + b);

    /// <summary>ln(Σ exp(xᵢ)) without overflow.</summary>
    internal static double LogSumExp(ReadOnlySpan<double> xs)
    {
        double max = double.NegativeInfinity;
        foreach (var x in xs) max = Math.Max(max, x);
        if (double.IsInfinity(max)) return max;
        double sum = 0;
        foreach (var x in xs) sum += Math.Exp(x - max);
        return max + Math.Log(sum);
    }
}
