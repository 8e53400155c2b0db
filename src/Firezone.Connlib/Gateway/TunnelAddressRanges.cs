using System.Net;

namespace Firezone.Connlib.Gateway;

/// <summary>
/// The fixed address ranges the gateway checks on its packet paths (tunnel spec §2): the clients' tunnel addresses
/// (<c>IPV4_PEERS</c>, <c>IPV6_PEERS</c>) and the DNS-resource proxy addresses clients hand out
/// (<c>IPV4_RESOURCES</c>, <c>IPV6_RESOURCES</c>). Tested on raw header bytes, allocation-free.
/// </summary>
internal static class TunnelAddressRanges
{
    /// <summary>Client tunnel addresses, IPv4: 100.64.0.0/11.</summary>
    public static readonly IPNetwork ClientsV4 = IPNetwork.Parse("100.64.0.0/11");

    /// <summary>Client tunnel addresses, IPv6: fd00:2021:1111::/107.</summary>
    public static readonly IPNetwork ClientsV6 = IPNetwork.Parse("fd00:2021:1111::/107");

    /// <summary>DNS-resource proxy addresses, IPv4: 100.96.0.0/11.</summary>
    public static readonly IPNetwork ProxiesV4 = IPNetwork.Parse("100.96.0.0/11");

    /// <summary>DNS-resource proxy addresses, IPv6: fd00:2021:1111:8000::/107.</summary>
    public static readonly IPNetwork ProxiesV6 = IPNetwork.Parse("fd00:2021:1111:8000::/107");

    private static ReadOnlySpan<byte> ClientsV6Prefix => [0xfd, 0x00, 0x20, 0x21, 0x11, 0x11, 0, 0, 0, 0, 0, 0, 0];

    private static ReadOnlySpan<byte> ProxiesV6Prefix => [0xfd, 0x00, 0x20, 0x21, 0x11, 0x11, 0x80, 0, 0, 0, 0, 0, 0];

    /// <summary>True for an address of 100.64.0.0/11 or fd00:2021:1111::/107 (raw 4 or 16 bytes).</summary>
    public static bool IsClient(ReadOnlySpan<byte> address) => address.Length == 4
        ? address[0] == 100 && (address[1] & 0xE0) == 0x40
        : address.Length == 16 && address[..13].SequenceEqual(ClientsV6Prefix) && (address[13] & 0xE0) == 0;

    /// <summary>True for an address of 100.96.0.0/11 or fd00:2021:1111:8000::/107 (raw 4 or 16 bytes).</summary>
    public static bool IsProxy(ReadOnlySpan<byte> address) => address.Length == 4
        ? address[0] == 100 && (address[1] & 0xE0) == 0x60
        : address.Length == 16 && address[..13].SequenceEqual(ProxiesV6Prefix) && (address[13] & 0xE0) == 0;
}
