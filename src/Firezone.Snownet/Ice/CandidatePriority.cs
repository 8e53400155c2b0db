using System.Net;
using System.Net.Sockets;

namespace Firezone.Snownet.Ice;

/// <summary>
/// Priority formulas of RFC 8445 §5.1.2.1 and §6.1.2.3 with the preferences Firezone uses (snownet spec §4.4.4, §4.6).
/// </summary>
internal static class CandidatePriority
{
    /// <summary>Component id of every Firezone candidate (one UDP flow per connection).</summary>
    public const int Component = 1;

    /// <summary>Type preference of a candidate kind: host 126, prflx 110, srflx 100, relay 2.</summary>
    public static uint TypePreference(CandidateKind kind) => kind switch
    {
        CandidateKind.Host => 126,
        CandidateKind.PeerReflexive => 110,
        CandidateKind.ServerReflexive => 100,
        CandidateKind.Relayed => 2,
        _ => 0,
    };

    /// <summary>The local preference that signalled candidates carry: 65535 for IPv6, 65534 for IPv4.</summary>
    public static uint SignalledLocalPreference(AddressFamily family) => family == AddressFamily.InterNetworkV6 ? 65535u : 65534u;

    /// <summary>
    /// The local preference the agent assigns internally to its n-th (0-based) local candidate of a kind and family:
    /// host 65535/65534, prflx 49151/49150, srflx 32767/32766, relay 16383/16382 for IPv6/IPv4, minus 2 per further candidate.
    /// </summary>
    public static uint InternalLocalPreference(CandidateKind kind, AddressFamily family, int ordinal)
    {
        uint top = kind switch
        {
            CandidateKind.Host => 65535,
            CandidateKind.PeerReflexive => 49151,
            CandidateKind.ServerReflexive => 32767,
            _ => 16383,
        };
        if (family != AddressFamily.InterNetworkV6)
        {
            top -= 1;
        }

        long value = top - (2L * ordinal);
        return value < 0 ? 0u : (uint)value;
    }

    /// <summary>priority = 2^24·type + 2^8·local + (256 − component).</summary>
    public static uint Compute(uint typePreference, uint localPreference, int component = Component)
        => (typePreference << 24) + ((localPreference & 0xFFFF) << 8) + (uint)(256 - component);

    /// <summary>The priority Firezone signals for a candidate of this kind and address (spec §4.4.4).</summary>
    public static uint Signalled(CandidateKind kind, IPAddress address)
        => Compute(TypePreference(kind), SignalledLocalPreference(address.AddressFamily));

    /// <summary>
    /// Pair priority (RFC 8445 §6.1.2.3): 2^32·min(G,D) + 2·max(G,D) + (G&gt;D ? 1 : 0), G = controlling side's
    /// candidate priority, D = controlled side's.
    /// </summary>
    public static ulong Pair(uint controlling, uint controlled)
    {
        ulong min = Math.Min(controlling, controlled);
        ulong max = Math.Max(controlling, controlled);
        return (min << 32) + (2 * max) + (controlling > controlled ? 1ul : 0ul);
    }
}
