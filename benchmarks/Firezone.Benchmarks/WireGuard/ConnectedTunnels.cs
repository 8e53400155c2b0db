using Firezone.Snownet.SansIo;
using Firezone.Snownet.WireGuard;

namespace Firezone.Benchmarks.WireGuard;

/// <summary>Two WireGuard tunnels with fresh static keys that completed a handshake in memory (the benchmarks' reference pair).</summary>
internal static class ConnectedTunnels
{
    /// <summary>Creates the pair (initiator, responder) at <paramref name="now"/>; both have a current session.</summary>
    public static (Tunnel Initiator, Tunnel Responder) Create(TimeSpan now, DateTimeOffset wall)
    {
        byte[] aPriv = new byte[32], aPub = new byte[32], bPriv = new byte[32], bPub = new byte[32];
        X25519.GenerateKeyPair(aPriv, aPub);
        X25519.GenerateKeyPair(bPriv, bPub);
        var a = new Tunnel(aPriv, bPub, new byte[32], null, 1, new RateLimiter(aPub), now, wall, RandomSource.Secure);
        var b = new Tunnel(bPriv, aPub, new byte[32], null, 2, new RateLimiter(bPub), now, wall, RandomSource.Secure);
        var buf = new byte[2048];
        var r = a.FormatHandshakeInitiation(buf, true, now);
        r = b.Decapsulate(buf.AsSpan(0, r.Length).ToArray(), default, buf, now);
        r = a.Decapsulate(buf.AsSpan(0, r.Length).ToArray(), default, buf, now);
        b.Decapsulate(buf.AsSpan(0, r.Length).ToArray(), default, buf, now);
        if (!a.HasCurrentSession || !b.HasCurrentSession)
        {
            throw new InvalidOperationException("the in-memory WireGuard handshake failed");
        }

        return (a, b);
    }
}
