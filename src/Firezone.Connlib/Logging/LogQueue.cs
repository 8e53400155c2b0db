using System.Collections.Concurrent;

namespace Firezone.Connlib.Logging;

/// <summary>
/// A bounded, lossy, non-blocking line queue with one writer thread (as tracing-appender's non-blocking writer):
/// <see cref="Enqueue"/> never waits, a full queue drops the line and counts it, and <see cref="Dispose"/> writes what
/// is queued (for at most <see cref="FlushTimeout"/>) and flushes the writer. The writer itself is not disposed.
/// </summary>
internal sealed class LogQueue : IDisposable
{
    /// <summary>How long <see cref="Dispose"/> waits for the queued lines to be written.</summary>
    public static readonly TimeSpan FlushTimeout = TimeSpan.FromSeconds(5);

    private readonly BlockingCollection<string> _lines;
    private readonly TextWriter _writer;
    private readonly Thread _thread;
    private long _dropped;
    private int _disposed;

    public LogQueue(TextWriter writer, int capacity)
    {
        ArgumentNullException.ThrowIfNull(writer);
        ArgumentOutOfRangeException.ThrowIfLessThan(capacity, 1);
        _writer = writer;
        _lines = new BlockingCollection<string>(new ConcurrentQueue<string>(), capacity);
        _thread = new Thread(Run) { IsBackground = true, Name = "Firezone log writer" };
        _thread.Start();
    }

    /// <summary>Lines dropped because the queue was full, the writer failed, or the queue was already disposed.</summary>
    public long Dropped => Interlocked.Read(ref _dropped);

    /// <summary>Queues one line (without its line break); never blocks.</summary>
    public void Enqueue(string line)
    {
        try
        {
            if (_lines.TryAdd(line))
            {
                return;
            }
        }
        catch (InvalidOperationException)
        {
            // Disposed (adding completed) meanwhile.
        }

        Interlocked.Increment(ref _dropped);
    }

    private void Run()
    {
        foreach (string line in _lines.GetConsumingEnumerable())
        {
            try
            {
                _writer.Write(line);
                _writer.Write('\n');
                if (_lines.Count == 0)
                {
                    _writer.Flush();
                }
            }
            catch (Exception e) when (e is IOException or ObjectDisposedException)
            {
                Interlocked.Increment(ref _dropped);
            }
        }
    }

    /// <inheritdoc/>
    public void Dispose()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0)
        {
            return;
        }

        _lines.CompleteAdding();
        if (_thread.Join(FlushTimeout))
        {
            try
            {
                _writer.Flush();
            }
            catch (Exception e) when (e is IOException or ObjectDisposedException)
            {
            }

            _lines.Dispose();
        }
    }
}
