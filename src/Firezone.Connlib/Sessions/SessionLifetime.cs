using Firezone.PhoenixChannel;
using Microsoft.Extensions.Logging;
using Channel = Firezone.PhoenixChannel.PhoenixChannel;

namespace Firezone.Connlib.Sessions;

/// <summary>
/// What the client and the gateway session share about ending: one <see cref="Completion"/> (the first end wins), one
/// shutdown every caller waits for (a stop racing a fatal error included), <c>Disconnected</c> raised only for a
/// permanent portal error or a crash (tunnel spec §4.9 <c>on_disconnect</c>), and the portal pump that turns the
/// channel's own events (reconnects, joins, failure, close) into logs and ends.
/// </summary>
/// <param name="logger">The session's logger.</param>
/// <param name="role">"Client" or "Gateway" (in the log line of the end).</param>
/// <param name="dispatcher">Where user callbacks run.</param>
/// <param name="disconnected">Raises the session's <c>Disconnected</c> event.</param>
/// <param name="closeAsync">Releases the session's resources (tunnel, channel, pump, metrics, dispatcher), once.</param>
internal sealed partial class SessionLifetime(ILogger logger, string role, EventDispatcher dispatcher, Action<SessionEndedEventArgs> disconnected, Func<Task> closeAsync)
{
    private readonly TaskCompletionSource<SessionEnd> _completion = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly Lock _lock = new();
    private Task? _shutdown;

    /// <summary>Cancelled when the shutdown begins (the pump stops reading); disposed when it is done.</summary>
    public CancellationTokenSource Stopping { get; } = new();

    /// <summary>Completes with the first end. Never faults.</summary>
    public Task<SessionEnd> Completion => _completion.Task;

    /// <summary>Ends the session by its owner's request and waits for the shutdown.</summary>
    public async Task StopAsync()
    {
        End(new SessionEnd(SessionEndReason.Stopped, null));
        await ShutdownAsync().ConfigureAwait(false);
    }

    /// <summary>Records the end once (null: nothing ended); a portal error or crash raises <c>Disconnected</c> and shuts down.</summary>
    public void End(SessionEnd? end)
    {
        if (end is null || !_completion.TrySetResult(end))
        {
            return;
        }

        LogEnded(logger, role, end.Reason, end.Error?.Message);
        if (end.Reason != SessionEndReason.Stopped)
        {
            var args = new SessionEndedEventArgs(end);
            dispatcher.Post(() => disconnected(args));
            _ = ShutdownAsync();
        }
    }

    /// <summary>Ends with <see cref="SessionEndReason.Crashed"/> when <paramref name="tunnel"/> faults.</summary>
    public void Watch(Task tunnel) =>
        _ = tunnel.ContinueWith(t => End(t.IsFaulted ? new SessionEnd(SessionEndReason.Crashed, t.Exception?.InnerException) : null),
            CancellationToken.None, TaskContinuationOptions.ExecuteSynchronously, TaskScheduler.Default);

    /// <summary>
    /// Reads <paramref name="channel"/>'s events until it fails (ends with <see cref="SessionEndReason.PortalError"/>),
    /// closes, or the shutdown begins: reconnects and joins are logged here, everything else goes to <paramref name="onEvent"/>.
    /// </summary>
    public async Task PumpAsync(Channel channel, Action<ChannelEvent> onEvent)
    {
        try
        {
            await foreach (var e in channel.ReadEventsAsync(Stopping.Token).ConfigureAwait(false))
            {
                switch (e)
                {
                    case ChannelEvent.JoinedRoom joined:
                        LogJoined(logger, joined.Topic);
                        break;
                    case ChannelEvent.Reconnecting reconnecting:
                        LogReconnecting(logger, reconnecting.Error, reconnecting.RetryIn);
                        break;
                    case ChannelEvent.Failed failed:
                        End(new SessionEnd(SessionEndReason.PortalError, failed.Error));
                        return;
                    case ChannelEvent.Closed:
                        End(new SessionEnd(SessionEndReason.Stopped, null));
                        return;
                    default:
                        onEvent(e);
                        break;
                }
            }
        }
        catch (OperationCanceledException)
        {
        }
        catch (ObjectDisposedException)
        {
        }
    }

    /// <summary>
    /// The shutdown order of both sessions: the tunnel thread (and its TUN threads) end first, then the portal socket is
    /// dropped (no close frame, as upstream), the pump finishes, the meters go, and the last callbacks run.
    /// </summary>
    public static async Task CloseAsync(IDisposable tunnel, IAsyncDisposable channel, Task? pump, IDisposable metrics, EventDispatcher dispatcher)
    {
        await Task.Run(tunnel.Dispose).ConfigureAwait(false);
        await channel.DisposeAsync().ConfigureAwait(false);
        if (pump is not null)
        {
            await pump.ConfigureAwait(false);
        }

        metrics.Dispose();
        await dispatcher.DisposeAsync().ConfigureAwait(false);
    }

    private Task ShutdownAsync()
    {
        lock (_lock)
        {
            return _shutdown ??= Task.Run(ShutdownOnceAsync);
        }
    }

    private async Task ShutdownOnceAsync()
    {
        Stopping.Cancel();
        await closeAsync().ConfigureAwait(false);
        Stopping.Dispose();
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "{Role} session ended: {Reason} {Error}")]
    private static partial void LogEnded(ILogger logger, string role, SessionEndReason reason, string? error);

    [LoggerMessage(Level = LogLevel.Information, Message = "Joined {Topic}")]
    private static partial void LogJoined(ILogger logger, string topic);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Portal connection failed ({Error}); retrying in {RetryIn}")]
    private static partial void LogReconnecting(ILogger logger, string error, TimeSpan retryIn);
}
