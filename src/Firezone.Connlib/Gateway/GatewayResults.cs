using System.Net;
using Firezone.Connlib.Model;
using Firezone.Snownet;

namespace Firezone.Connlib.Gateway;

/// <summary>Why <see cref="GatewayState"/> did not pass a packet on (a value, never an exception).</summary>
public enum GatewayPacketError
{
    /// <summary>No error.</summary>
    None,

    /// <summary>The Snownet node refused the datagram or packet: see the result's <c>NodeError</c>.</summary>
    Node,

    /// <summary>
    /// Network input: a decrypted packet of a connection whose client has no access (no peer state). TUN input: no
    /// client owns the destination address.
    /// </summary>
    UnknownClient,

    /// <summary>Not a valid IPv4 or IPv6 packet of at most 1280 bytes.</summary>
    InvalidPacket,

    /// <summary>The source is not exactly the client's tunnel IPv4 or IPv6 address (never answered).</summary>
    SourceNotAllowed,

    /// <summary>No resource of the client allows this destination, protocol and port (answered: ICMP prohibited).</summary>
    DestinationNotAllowed,

    /// <summary>DNS-resource NAT needs a TCP or UDP port or an ICMP echo identifier, and the packet has none.</summary>
    UnsupportedProtocol,

    /// <summary>DNS-resource NAT found no free port or identifier, or the client's NAT table is full.</summary>
    NatExhausted,

    /// <summary>The NAT46/NAT64 translation refused the packet (extension headers, an untranslatable ICMP type…).</summary>
    TranslationFailed,

    /// <summary>NAT46 would make the packet larger than 1280 bytes (answered: ICMP packet too big, MTU 1260).</summary>
    PacketTooBig,

    /// <summary>TUN input: the destination is not in a client tunnel range (100.64.0.0/11, fd00:2021:1111::/107).</summary>
    NotForAClient,

    /// <summary>TUN input: a NAT session matched but its DNS translation no longer exists (upstream's error, kept).</summary>
    NoTranslationState,

    /// <summary>The caller's buffer is smaller than <see cref="Node.BufferSize"/>.</summary>
    BufferTooSmall,
}

/// <summary>What <see cref="GatewayState.HandleNetworkInput"/> did.</summary>
public enum NetworkInputStatus
{
    /// <summary>Write the IP packet at <see cref="NetworkInputResult.Offset"/> of the buffer to the TUN device.</summary>
    Packet,

    /// <summary>Nothing for the TUN (TURN, ICE, WireGuard control, a p2p control packet): call <see cref="GatewayState.HandleTimeout"/>.</summary>
    Nothing,

    /// <summary>Dropped: see <see cref="NetworkInputResult.Error"/>.</summary>
    Error,
}

/// <summary>
/// The result of <see cref="GatewayState.HandleNetworkInput"/>: with <see cref="NetworkInputStatus.Packet"/>, the IP
/// packet of <see cref="Client"/> for the TUN device is <c>buffer[Offset..(Offset + Length)]</c> (offset 20 unchanged or
/// after a same-family NAT rewrite, 0 after NAT46, 40 after NAT64).
/// </summary>
/// <param name="Status">What happened.</param>
/// <param name="Client">The client the packet came from (when known).</param>
/// <param name="Offset">Where the packet starts in the buffer.</param>
/// <param name="Length">Its length.</param>
/// <param name="Error">Why it was dropped.</param>
/// <param name="NodeError">The node's reason, with <see cref="GatewayPacketError.Node"/>.</param>
public readonly record struct NetworkInputResult(NetworkInputStatus Status, ClientId Client, int Offset, int Length, GatewayPacketError Error, PacketError NodeError)
{
    internal static NetworkInputResult Nothing => new(NetworkInputStatus.Nothing, default, 0, 0, GatewayPacketError.None, PacketError.None);

    internal static NetworkInputResult Fail(GatewayPacketError error, ClientId client = default, PacketError node = PacketError.None) =>
        new(NetworkInputStatus.Error, client, 0, 0, error, node);
}

/// <summary>What <see cref="GatewayState.HandleTunInput"/> did.</summary>
public enum TunInputStatus
{
    /// <summary>Send the encrypted datagram at <see cref="TunInputResult.Offset"/> of the buffer now.</summary>
    Send,

    /// <summary>Nothing to send now (queued by the node until a path exists): call <see cref="GatewayState.HandleTimeout"/>.</summary>
    Nothing,

    /// <summary>Dropped: see <see cref="TunInputResult.Error"/>.</summary>
    Error,
}

/// <summary>
/// The result of <see cref="GatewayState.HandleTunInput"/>: with <see cref="TunInputStatus.Send"/>, send
/// <c>buffer[Offset..(Offset + Length)]</c> from <see cref="Source"/> (null: any interface) to <see cref="Destination"/>.
/// </summary>
/// <param name="Status">What happened.</param>
/// <param name="Client">The client the packet goes to (when known).</param>
/// <param name="Source">The local address to send from, or null.</param>
/// <param name="Destination">Where to send the datagram.</param>
/// <param name="Offset">Where the datagram starts in the buffer.</param>
/// <param name="Length">Its length.</param>
/// <param name="Error">Why it was dropped.</param>
/// <param name="NodeError">The node's reason, with <see cref="GatewayPacketError.Node"/>.</param>
public readonly record struct TunInputResult(TunInputStatus Status, ClientId Client, IPEndPoint? Source, IPEndPoint? Destination, int Offset, int Length, GatewayPacketError Error, PacketError NodeError)
{
    internal static TunInputResult Fail(GatewayPacketError error, ClientId client = default, PacketError node = PacketError.None) =>
        new(TunInputStatus.Error, client, null, null, 0, 0, error, node);
}

/// <summary>Why DNS-resource NAT could not be set up (tunnel spec §5.5); <see cref="None"/> when it was.</summary>
public enum DnsNatError
{
    /// <summary>Set up.</summary>
    None,

    /// <summary>No peer state for this client.</summary>
    UnknownClient,

    /// <summary>The client has no access to this resource.</summary>
    UnknownResource,

    /// <summary>The resource is not a DNS resource.</summary>
    NotADnsResource,

    /// <summary>Not a valid domain name (1–253 characters, labels of 1–63).</summary>
    InvalidDomain,

    /// <summary>The name does not match the DNS resource's pattern.</summary>
    DomainMismatch,

    /// <summary>The client would exceed its cap of permanent translations (proxy IPs), 16,384.</summary>
    TooManyTranslations,

    /// <summary>The client would exceed its cap of names resolved through DNS resources, 4,096.</summary>
    TooManyDomains,
}

/// <summary>
/// The DNS-resource NAT entry of the deprecated flow (<c>request_connection</c> / <c>allow_access</c> with a domain):
/// the name, the proxy IPs the client handed out for it and what the gateway resolved it to.
/// </summary>
/// <param name="Domain">The name (without the trailing dot).</param>
/// <param name="ProxyIps">The client's proxy IPs for it (normally 4 IPv4 and 4 IPv6).</param>
/// <param name="ResolvedIps">The gateway's resolution of the name (empty if it failed).</param>
public sealed record DnsResourceNatEntry(string Domain, IReadOnlyList<IPAddress> ProxyIps, IReadOnlyList<IPAddress> ResolvedIps)
{
    /// <summary>The entry for a portal resolve request and the addresses it resolved to.</summary>
    public DnsResourceNatEntry(ResolveRequest request, IReadOnlyList<IPAddress> resolvedIps)
        : this((request ?? throw new ArgumentNullException(nameof(request))).Name, request.ProxyIps, resolvedIps)
    {
    }
}
