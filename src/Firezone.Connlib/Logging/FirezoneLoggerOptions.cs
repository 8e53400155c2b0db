namespace Firezone.Connlib.Logging;

/// <summary>Settings of a <see cref="FirezoneLoggerProvider"/>.</summary>
public sealed class FirezoneLoggerOptions
{
    /// <summary>
    /// Lines that may wait for the writer thread; further lines are dropped (and counted) instead of blocking the
    /// logging thread. Default 128,000, tracing-appender's limit for its lossy non-blocking writer.
    /// </summary>
    public int QueueCapacity { get; init; } = 128_000;

    /// <summary>The clock that timestamps each line.</summary>
    public TimeProvider Time { get; init; } = TimeProvider.System;
}
