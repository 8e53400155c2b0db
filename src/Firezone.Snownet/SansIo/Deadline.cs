namespace Firezone.Snownet.SansIo;

/// <summary>
/// Instants of the sans-IO engines: a monotonic <see cref="TimeSpan"/> since an origin the driver chooses (for example
/// <c>TimeProvider.GetElapsedTime(start)</c>), never wall-clock time. Helpers to combine the deadlines engines report.
/// </summary>
internal static class Deadline
{
    /// <summary>The earlier of two optional deadlines (null: none scheduled).</summary>
    public static TimeSpan? Min(TimeSpan? a, TimeSpan? b) => a is null ? b : b is null ? a : (a.Value <= b.Value ? a : b);

    /// <summary>The earlier of an optional deadline and a deadline.</summary>
    public static TimeSpan Min(TimeSpan? a, TimeSpan b) => a is { } x && x <= b ? x : b;
}
