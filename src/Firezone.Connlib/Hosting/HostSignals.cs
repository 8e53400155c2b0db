using System.Runtime.InteropServices;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace Firezone.Connlib.Hosting;

/// <summary>
/// The hosts' signal handling (hosts-and-tun.md §7.1, §7.2): SIGINT and SIGTERM log "Caught SIGINT" / "Caught SIGTERM"
/// and cancel <see cref="Stopping"/> (the host then shuts down cleanly and exits 0); a second one of them while stopping
/// lets the default action end the process at once. With <c>handleHangup</c>, SIGHUP logs "Caught SIGHUP" and raises
/// <see cref="Hangup"/> (the client resets its session); otherwise SIGHUP keeps its default action.
/// </summary>
/// <remarks>
/// Deliberate difference for the gateway (upstream quirk fixed): upstream's gateway handles only SIGINT, so SIGTERM —
/// what <c>docker stop</c> and systemd send — killed it without cleanup. Both hosts use this class, so both stop
/// gracefully on SIGTERM.
/// </remarks>
public sealed class HostSignals : IDisposable
{
    private readonly CancellationTokenSource _stopping = new();
    private readonly List<PosixSignalRegistration> _registrations = [];
    private readonly ILogger _logger;

    /// <summary>Registers the handlers.</summary>
    public HostSignals(bool handleHangup, ILogger? logger = null)
    {
        _logger = logger ?? NullLogger.Instance;
        _registrations.Add(PosixSignalRegistration.Create(PosixSignal.SIGINT, c => OnStop(c, "SIGINT")));
        _registrations.Add(PosixSignalRegistration.Create(PosixSignal.SIGTERM, c => OnStop(c, "SIGTERM")));
        if (handleHangup)
        {
            _registrations.Add(PosixSignalRegistration.Create(PosixSignal.SIGHUP, c =>
            {
                c.Cancel = true;
                HostingLog.CaughtSignal(_logger, "SIGHUP");
                Hangup?.Invoke(this, EventArgs.Empty);
            }));
        }
    }

    /// <summary>Cancelled by the first SIGINT or SIGTERM (or <see cref="RequestStop"/>).</summary>
    public CancellationToken Stopping => _stopping.Token;

    /// <summary>Raised on SIGHUP (only when constructed with <c>handleHangup</c>), on a thread-pool thread.</summary>
    public event EventHandler? Hangup;

    /// <summary>Cancels <see cref="Stopping"/> as a signal would (e.g. for <c>--exit</c>).</summary>
    public void RequestStop()
    {
        try
        {
            _stopping.Cancel();
        }
        catch (ObjectDisposedException)
        {
        }
    }

    private void OnStop(PosixSignalContext context, string name)
    {
        if (_stopping.IsCancellationRequested)
        {
            HostingLog.CaughtSignalAgain(_logger, name);
            return; // default action: the process ends now
        }

        context.Cancel = true;
        HostingLog.CaughtSignal(_logger, name);
        _stopping.Cancel();
    }

    /// <summary>Unregisters the handlers.</summary>
    public void Dispose()
    {
        foreach (var registration in _registrations)
        {
            registration.Dispose();
        }

        _stopping.Dispose();
    }
}
