using Spectre.Console;

namespace Asupersync.Cli;

/// <summary>How a long run shows its progress.</summary>
internal enum ProgressMode
{
    /// <summary>Nothing (<c>--quiet</c>).</summary>
    None,

    /// <summary>A line on standard error every couple of seconds (standard error is not a terminal: CI logs, pipes).</summary>
    Lines,

    /// <summary>A live Spectre.Console progress bar on standard error (a terminal).</summary>
    Live,
}

/// <summary>
/// Progress for long runs, always on standard error (standard output stays the result, or the JSON with
/// <c>--json</c>): a Spectre.Console progress bar on a terminal, plain lines otherwise.
/// </summary>
internal sealed class ProgressDisplay(TextWriter error, ProgressMode mode)
{
    /// <summary>How often the Lab should report: often enough for a live bar, sparingly for log lines.</summary>
    internal TimeSpan Interval => mode == ProgressMode.Live ? TimeSpan.FromMilliseconds(250) : TimeSpan.FromSeconds(2);

    internal ProgressMode Mode => mode;

    /// <summary>
    /// Runs <paramref name="body"/>, handing it an update callback <c>(done, text, finished)</c>: <c>done</c> counts
    /// towards <paramref name="total"/> and <c>text</c> is the one-line state (schedules/s, classes, failures …).
    /// </summary>
    internal T Run<T>(string title, double total, Func<Action<double, string, bool>, T> body)
    {
        switch (mode)
        {
            case ProgressMode.None:
                return body(static (_, _, _) => { });
            case ProgressMode.Lines:
                return body((_, text, finished) => error.WriteLine($"{title}: {(finished ? "done: " : "")}{text}"));
            default:
                var console = AnsiConsole.Create(new AnsiConsoleSettings
                {
                    Out = new AnsiConsoleOutput(error),
                    Ansi = AnsiSupport.Detect,
                    Interactive = InteractionSupport.Yes,
                });
                return console.Progress()
                    .AutoClear(false)
                    .Columns(new TaskDescriptionColumn { Alignment = Justify.Left }, new ProgressBarColumn(), new PercentageColumn(), new ElapsedTimeColumn())
                    .Start(ctx =>
                    {
                        var task = ctx.AddTask(Markup.Escape(title), maxValue: Math.Max(1, total));
                        var result = body((done, text, finished) =>
                        {
                            task.Value = finished ? task.MaxValue : Math.Min(done, task.MaxValue);
                            task.Description = Markup.Escape($"{title}: {text}");
                        });
                        task.Value = task.MaxValue;
                        return result;
                    });
        }
    }
}
