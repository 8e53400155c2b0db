using System.Threading.Channels;
using Microsoft.Extensions.Logging;

namespace Firezone.Connlib.Sessions;

/// <summary>
/// Runs a session's user callbacks (its .NET events) on one task of their own, in order, so that a slow or throwing
/// handler never stalls or breaks the tunnel loop or the portal reader. A handler's exception is logged.
/// </summary>
internal sealed partial class EventDispatcher : IAsyncDisposable
{
    private readonly Channel<Action> _queue = Channel.CreateUnbounded<Action>(new UnboundedChannelOptions { SingleReader = true });
    private readonly ILogger _logger;
    private readonly Task _run;

    public EventDispatcher(ILogger logger)
    {
        _logger = logger;
        _run = Task.Run(RunAsync);
    }

    /// <summary>Queues <paramref name="callback"/> (dropped after disposal).</summary>
    public void Post(Action callback) => _queue.Writer.TryWrite(callback);

    private async Task RunAsync()
    {
        await foreach (var callback in _queue.Reader.ReadAllAsync().ConfigureAwait(false))
        {
            try
            {
                callback();
            }
            catch (Exception e)
            {
                LogHandlerFailed(_logger, e);
            }
        }
    }

    /// <summary>Runs what is queued, then ends.</summary>
    public async ValueTask DisposeAsync()
    {
        _queue.Writer.TryComplete();
        await _run.ConfigureAwait(false);
    }

    [LoggerMessage(Level = LogLevel.Error, Message = "A session event handler threw")]
    private static partial void LogHandlerFailed(ILogger logger, Exception exception);
}
