using System.Net;

namespace Firezone.Snownet.Ice;

/// <summary>
/// Foundations (RFC 8445 §5.1.1.3): equal for candidates of the same kind, base IP and transport. Rendered as a
/// decimal number, like the foundations Firezone signals; receivers treat them as opaque.
/// </summary>
internal static class CandidateFoundation
{
    /// <summary>FNV-1a (64 bit) over kind, base IP bytes and the transport, in decimal.</summary>
    public static string Compute(CandidateKind kind, IPAddress baseAddress)
    {
        const ulong offset = 14695981039346656037;
        const ulong prime = 1099511628211;
        ulong h = offset;
        h = (h ^ (byte)kind) * prime;
        Span<byte> ip = stackalloc byte[16];
        baseAddress.TryWriteBytes(ip, out int n);
        for (int i = 0; i < n; i++)
        {
            h = (h ^ ip[i]) * prime;
        }

        h = (h ^ 17) * prime; // UDP
        return h.ToString(System.Globalization.CultureInfo.InvariantCulture);
    }
}
