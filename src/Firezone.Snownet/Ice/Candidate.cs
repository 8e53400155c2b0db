using System.Net;
using System.Net.Sockets;

namespace Firezone.Snownet.Ice;

/// <summary>
/// One ICE candidate (component 1, UDP) as signalled between Firezone peers (snownet spec §4.4).
/// </summary>
/// <param name="Kind">host, prflx, srflx or relay.</param>
/// <param name="Address">The transport address of the candidate.</param>
/// <param name="Base">The address checks are sent from: the host address for host and srflx candidates, the relayed
/// address for relay candidates; for remote candidates it equals <paramref name="Address"/>.</param>
/// <param name="Priority">The RFC 8445 §5.1.2 priority.</param>
/// <param name="Foundation">An opaque token (1–32 ice-chars) grouping candidates of the same kind and base.</param>
internal sealed record Candidate(CandidateKind Kind, IPEndPoint Address, IPEndPoint Base, uint Priority, string Foundation)
{
    /// <summary>Component id; Firezone only uses 1.</summary>
    public int Component { get; init; } = CandidatePriority.Component;

    /// <summary>Transport token (<c>udp</c>); kept as parsed.</summary>
    public string Transport { get; init; } = "udp";

    /// <summary>Optional <c>raddr</c>/<c>rport</c> (Firezone never emits it).</summary>
    public IPEndPoint? Related { get; init; }

    /// <summary>Optional <c>tcptype</c> suffix.</summary>
    public string? TcpType { get; init; }

    /// <summary>Optional <c>generation</c> suffix.</summary>
    public string? Generation { get; init; }

    /// <summary>Optional <c>network-id</c> suffix.</summary>
    public string? NetworkId { get; init; }

    /// <summary>Optional <c>ufrag</c> suffix: when present it must equal the remote ufrag.</summary>
    public string? Ufrag { get; init; }

    /// <summary>Optional <c>network-cost</c> suffix.</summary>
    public string? NetworkCost { get; init; }

    /// <summary>True for the UDP transport (the only one an agent pairs).</summary>
    public bool IsUdp => string.Equals(Transport, "udp", StringComparison.OrdinalIgnoreCase);

    /// <summary>A host candidate with Firezone's signalled priority.</summary>
    public static Candidate Host(IPEndPoint address)
        => new(CandidateKind.Host, address, address, CandidatePriority.Signalled(CandidateKind.Host, address.Address),
            CandidateFoundation.Compute(CandidateKind.Host, address.Address));

    /// <summary>A server-reflexive candidate (no raddr/rport, as snownet emits it).</summary>
    public static Candidate ServerReflexive(IPEndPoint address, IPEndPoint @base)
        => new(CandidateKind.ServerReflexive, address, @base,
            CandidatePriority.Signalled(CandidateKind.ServerReflexive, address.Address),
            CandidateFoundation.Compute(CandidateKind.ServerReflexive, @base.Address));

    /// <summary>A relayed candidate; its base is the relayed address itself.</summary>
    public static Candidate Relayed(IPEndPoint address)
        => new(CandidateKind.Relayed, address, address, CandidatePriority.Signalled(CandidateKind.Relayed, address.Address),
            CandidateFoundation.Compute(CandidateKind.Relayed, address.Address));

    /// <summary>A peer-reflexive candidate learnt from a check.</summary>
    public static Candidate PeerReflexive(IPEndPoint address, IPEndPoint @base, uint priority)
        => new(CandidateKind.PeerReflexive, address, @base, priority,
            CandidateFoundation.Compute(CandidateKind.PeerReflexive, @base.Address));

    /// <summary>Parses the SDP candidate-attribute form (with or without <c>a=</c> / <c>candidate:</c>).</summary>
    public static bool TryParse(string? text, out Candidate candidate) => CandidateSdp.TryParse(text, out candidate!);

    /// <summary>Formats as <c>candidate:&lt;foundation&gt; 1 udp &lt;priority&gt; &lt;ip&gt; &lt;port&gt; typ ...</c>.</summary>
    public string ToSdpString() => CandidateSdp.Format(this);

    /// <inheritdoc/>
    public override string ToString() => ToSdpString();

    /// <summary>
    /// False for addresses no candidate may have: unspecified, multicast, IPv4 broadcast and IPv4 link-local
    /// (snownet spec §4.4.1).
    /// </summary>
    public static bool IsUsableAddress(IPAddress ip)
    {
        if (ip.Equals(IPAddress.Any) || ip.Equals(IPAddress.IPv6Any))
        {
            return false;
        }

        if (ip.AddressFamily == AddressFamily.InterNetwork)
        {
            Span<byte> b = stackalloc byte[4];
            ip.TryWriteBytes(b, out _);
            bool multicast = b[0] >= 224 && b[0] <= 239;
            bool broadcast = b[0] == 255 && b[1] == 255 && b[2] == 255 && b[3] == 255;
            bool linkLocal = b[0] == 169 && b[1] == 254;
            return !(multicast || broadcast || linkLocal);
        }

        if (ip.AddressFamily == AddressFamily.InterNetworkV6)
        {
            if (ip.IsIPv4MappedToIPv6)
            {
                return IsUsableAddress(ip.MapToIPv4());
            }

            return !ip.IsIPv6Multicast;
        }

        return false;
    }
}
