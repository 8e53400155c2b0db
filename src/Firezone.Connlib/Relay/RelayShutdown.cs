using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace Firezone.Connlib.Relay;

/// <summary>
/// The relay's shutdown rule (relay.md §2), apart from signals: the first <see cref="RequestTermination"/> closes the
/// portal connection and keeps relaying; <see cref="Completion"/> completes with exit code 0 once the portal is
/// closed and the session has no allocation left (checked when the portal close finishes and then every second). A
/// second request completes with 0 at once. A fatal portal error (<see cref="RelayPortalConnection.Completion"/> with a
/// code) completes with that code, draining or not. A host wires SIGTERM to <see cref="RequestTermination"/> and
/// exits with <see cref="Completion"/>'s code.
/// </summary>
public sealed partial class RelayShutdown : IDisposable
{
    /// <summary>How often the drain checks the allocation count.</summary>
    public static readonly TimeSpan DrainCheckInterval = TimeSpan.FromSeconds(1);

    private readonly Func<int> _allocationCount;
    private readonly Func<bool> _portalClosed;
    private readonly Func<Task> _closePortal;
    private readonly TimeProvider _time;
    private readonly ILogger _logger;
    private readonly TaskCompletionSource<int> _completion = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly object _gate = new();
    private int _requests;
    private int _completed;
    private ITimer? _timer;
    private bool _disposed;

    /// <summary>Shutdown of <paramref name="session"/> and its portal connection (null: standalone, nothing to close).</summary>
    public RelayShutdown(RelaySession session, RelayPortalConnection? portal, ILoggerFactory? loggerFactory = null, TimeProvider? time = null)
        : this(
            () => (session ?? throw new ArgumentNullException(nameof(session))).AllocationCount,
            () => portal?.IsClosed ?? true,
            () => portal?.CloseAsync() ?? Task.CompletedTask,
            portal?.Completion,
            time ?? TimeProvider.System,
            (loggerFactory ?? NullLoggerFactory.Instance).CreateLogger("Firezone.Relay"))
    {
        ArgumentNullException.ThrowIfNull(session);
    }

    /// <summary>The rule on its own: how many allocations there are, whether the portal is closed, how to close it, its completion.</summary>
    internal RelayShutdown(Func<int> allocationCount, Func<bool> portalClosed, Func<Task> closePortal, Task<int?>? portalCompletion, TimeProvider time, ILogger logger)
    {
        _allocationCount = allocationCount;
        _portalClosed = portalClosed;
        _closePortal = closePortal;
        _time = time;
        _logger = logger;
        portalCompletion?.ContinueWith(
            static (task, state) =>
            {
                var self = (RelayShutdown)state!;
                if (task.IsCompletedSuccessfully && task.Result is { } code)
                {
                    self.Complete(code, logger => LogFatal(logger, code));
                }
                else
                {
                    self.CheckDrained();
                }
            },
            this,
            CancellationToken.None,
            TaskContinuationOptions.ExecuteSynchronously,
            TaskScheduler.Default);
    }

    /// <summary>The process exit code: 0 after a drain or a second request, the portal's code after a fatal portal error.</summary>
    public Task<int> Completion => _completion.Task;

    /// <summary>True once the first termination request was made.</summary>
    public bool IsDraining => Volatile.Read(ref _requests) > 0;

    /// <summary>A termination request (SIGTERM): the first starts the drain, the second completes with 0.</summary>
    public void RequestTermination()
    {
        int request = Interlocked.Increment(ref _requests);
        if (request > 1)
        {
            Complete(0, LogForced);
            return;
        }

        LogDraining(_logger);
        lock (_gate)
        {
            if (!_disposed)
            {
                _timer = _time.CreateTimer(static state => ((RelayShutdown)state!).CheckDrained(), this, DrainCheckInterval, DrainCheckInterval);
            }
        }

        _ = CloseThenCheckAsync();
    }

    private async Task CloseThenCheckAsync()
    {
        try
        {
            await _closePortal().ConfigureAwait(false);
        }
        catch (Exception e) // a failed close must not end the drain
        {
            LogCloseFailed(_logger, e.Message);
        }

        CheckDrained();
    }

    private void CheckDrained()
    {
        if (!IsDraining || Volatile.Read(ref _completed) != 0 || !_portalClosed() || _allocationCount() != 0)
        {
            return;
        }

        Complete(0, LogDrained);
    }

    // One caller wins; it logs before completing, so the line is queued before the host disposes its logging.
    private void Complete(int code, Action<ILogger> log)
    {
        if (Interlocked.Exchange(ref _completed, 1) != 0)
        {
            return;
        }

        log(_logger);
        StopTimer();
        _completion.TrySetResult(code);
    }

    private void StopTimer()
    {
        lock (_gate)
        {
            _timer?.Dispose();
            _timer = null;
        }
    }

    /// <summary>Stops the drain timer; <see cref="Completion"/> is left as it is.</summary>
    public void Dispose()
    {
        lock (_gate)
        {
            _disposed = true;
        }

        StopTimer();
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Termination requested: draining (closing the portal connection, waiting for allocations to end); request again to exit now")]
    private static partial void LogDraining(ILogger logger);

    [LoggerMessage(Level = LogLevel.Information, Message = "Drained: no allocations left")]
    private static partial void LogDrained(ILogger logger);

    [LoggerMessage(Level = LogLevel.Information, Message = "Second termination request: exiting now")]
    private static partial void LogForced(ILogger logger);

    [LoggerMessage(Level = LogLevel.Error, Message = "Exiting with {ExitCode} after a fatal portal error")]
    private static partial void LogFatal(ILogger logger, int exitCode);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Closing the portal connection failed: {Reason}")]
    private static partial void LogCloseFailed(ILogger logger, string reason);
}
