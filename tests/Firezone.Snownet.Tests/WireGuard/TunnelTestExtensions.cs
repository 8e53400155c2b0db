using Firezone.Snownet.WireGuard;

namespace Firezone.Snownet.Tests.WireGuard;

/// <summary>Test shorthand for the timer half of the tunnel's contract.</summary>
internal static class TunnelTestExtensions
{
    /// <summary>Runs the timers at <paramref name="now"/> and returns the first datagram they want sent (or Done).</summary>
    public static TunnelResult Tick(this Tunnel tunnel, Span<byte> buffer, TimeSpan now)
    {
        tunnel.HandleTimeout(now);
        return tunnel.PollTransmit(buffer, now);
    }
}
