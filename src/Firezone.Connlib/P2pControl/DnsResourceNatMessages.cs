using System.Buffers;
using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Text.Encodings.Web;
using System.Text.Json;
using Firezone.Connlib.Model;
using Firezone.Tun.Packets;

namespace Firezone.Connlib.P2pControl;

/// <summary>Whether the gateway's NAT for a name is in place (<c>DomainStatus.status</c>).</summary>
internal enum NatStatus
{
    /// <summary>Traffic will be routed.</summary>
    Active,

    /// <summary>Traffic will not be routed (also every unknown status string).</summary>
    Inactive,
}

/// <summary>Event 0: the client assigned these proxy IPs to a name of a DNS resource.</summary>
internal sealed record AssignedIps(ResourceId Resource, string Domain, IReadOnlyList<IPAddress> ProxyIps);

/// <summary>Event 1: the gateway's NAT status for a name.</summary>
internal sealed record DomainStatus(ResourceId Resource, string Domain, NatStatus Status);

/// <summary>
/// The DNS-resource NAT namespace of Firezone's p2p control protocol (tunnel spec §6, hosts-and-tun §3.7): events
/// inside an IPv6 packet from <c>::</c> to <c>::</c> with next header 0xFF, an 8-byte header (byte 0 the event type) and
/// a JSON body as serde writes it (fields in declaration order, no whitespace, only <c>"</c>, <c>\</c> and control
/// characters escaped). Decoding follows serde's rules: unknown fields ignored, duplicate or missing fields and
/// trailing data rejected; an unknown status string is <see cref="NatStatus.Inactive"/>.
/// </summary>
internal static class DnsResourceNatMessages
{
    /// <summary>Event type of <see cref="AssignedIps"/>.</summary>
    public const byte AssignedIpsEvent = 0;

    /// <summary>Event type of <see cref="DomainStatus"/>.</summary>
    public const byte DomainStatusEvent = 1;

    /// <summary>The fixed header in front of the body.</summary>
    public const int HeaderLength = 8;

    /// <summary>Proxy IPs an <see cref="AssignedIps"/> event carries (4 IPv4 and 4 IPv6).</summary>
    public const int ProxyIpCount = 8;

    private static readonly JsonWriterOptions WriterOptions = new() { Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping };

    /// <summary>The JSON body of an <see cref="AssignedIps"/> event; exactly 8 proxy IPs.</summary>
    public static byte[] SerializeAssignedIps(ResourceId resource, string domain, IReadOnlyList<IPAddress> proxyIps)
    {
        ArgumentNullException.ThrowIfNull(domain);
        ArgumentNullException.ThrowIfNull(proxyIps);
        if (proxyIps.Count != ProxyIpCount)
        {
            throw new ArgumentException("Expected 8 proxy IPs", nameof(proxyIps));
        }

        var output = new ArrayBufferWriter<byte>(512);
        using (var writer = new Utf8JsonWriter(output, WriterOptions))
        {
            writer.WriteStartObject();
            writer.WriteString("resource"u8, resource.ToString());
            writer.WriteString("domain"u8, domain);
            writer.WriteStartArray("proxy_ips"u8);
            foreach (var ip in proxyIps)
            {
                writer.WriteStringValue(ip.ToString());
            }

            writer.WriteEndArray();
            writer.WriteEndObject();
        }

        return output.WrittenSpan.ToArray();
    }

    /// <summary>The JSON body of a <see cref="DomainStatus"/> event.</summary>
    public static byte[] SerializeDomainStatus(ResourceId resource, string domain, NatStatus status)
    {
        ArgumentNullException.ThrowIfNull(domain);
        var output = new ArrayBufferWriter<byte>(320);
        using (var writer = new Utf8JsonWriter(output, WriterOptions))
        {
            writer.WriteStartObject();
            writer.WriteString("resource"u8, resource.ToString());
            writer.WriteString("domain"u8, domain);
            writer.WriteString("status"u8, status == NatStatus.Active ? "Active" : "Inactive");
            writer.WriteEndObject();
        }

        return output.WrittenSpan.ToArray();
    }

    /// <summary>Writes a whole <see cref="DomainStatus"/> packet; returns its length, 0 if it does not fit in 1280 bytes.</summary>
    public static int WriteDomainStatusPacket(Span<byte> destination, ResourceId resource, string domain, NatStatus status) =>
        WritePacket(destination, DomainStatusEvent, SerializeDomainStatus(resource, domain, status));

    /// <summary>Writes a whole <see cref="AssignedIps"/> packet; returns its length, 0 if it does not fit in 1280 bytes.</summary>
    public static int WriteAssignedIpsPacket(Span<byte> destination, ResourceId resource, string domain, IReadOnlyList<IPAddress> proxyIps) =>
        WritePacket(destination, AssignedIpsEvent, SerializeAssignedIps(resource, domain, proxyIps));

    private static int WritePacket(Span<byte> destination, byte eventType, ReadOnlySpan<byte> body)
    {
        if (IpConstants.Ipv6HeaderLength + HeaderLength + body.Length > Math.Min(destination.Length, IpConstants.MaxPacketSize))
        {
            return 0;
        }

        return PacketBuilder.FzP2pControl(destination, eventType, body);
    }

    /// <summary>The event type and body of a p2p control packet (recognised, with at least the 8-byte header).</summary>
    public static bool TryGetEvent(IpPacket packet, out byte eventType, out ReadOnlySpan<byte> body)
    {
        eventType = 0;
        body = default;
        if (!packet.IsFzP2pControl || packet.Payload.Length < HeaderLength)
        {
            return false;
        }

        eventType = packet.Payload[0];
        body = packet.Payload[HeaderLength..];
        return true;
    }

    /// <summary>Decodes an <see cref="AssignedIps"/> body; false for anything malformed or without exactly 8 proxy IPs.</summary>
    public static bool TryDecodeAssignedIps(ReadOnlySpan<byte> json, out AssignedIps value)
    {
        value = null!;
        List<IPAddress>? proxies = null;
        if (!TryReadBody(json, "proxy_ips", (ref MiniJsonReader r) => proxies is null && TryReadAddresses(ref r, out proxies), out var resource, out var domain)
            || proxies is null || proxies.Count != ProxyIpCount)
        {
            return false;
        }

        value = new AssignedIps(resource, domain, proxies);
        return true;
    }

    /// <summary>Decodes a <see cref="DomainStatus"/> body; false for anything malformed.</summary>
    public static bool TryDecodeDomainStatus(ReadOnlySpan<byte> json, out DomainStatus value)
    {
        value = null!;
        NatStatus? status = null;
        bool ReadStatus(ref MiniJsonReader r)
        {
            if (status is not null || !r.TryReadString(out string s))
            {
                return false;
            }

            status = s == "Active" ? NatStatus.Active : NatStatus.Inactive; // #[serde(other)] Inactive
            return true;
        }

        if (!TryReadBody(json, "status", ReadStatus, out var resource, out var domain) || status is null)
        {
            return false;
        }

        value = new DomainStatus(resource, domain, status.Value);
        return true;
    }

    private delegate bool FieldReader(ref MiniJsonReader reader);

    /// <summary>
    /// The object both bodies are: <c>resource</c> (a UUID) and <c>domain</c> (a string) exactly once each, the field
    /// <paramref name="otherKey"/> read by <paramref name="readOther"/> (which rejects a second occurrence), unknown
    /// fields skipped, nothing after the object (serde's rules).
    /// </summary>
    private static bool TryReadBody(ReadOnlySpan<byte> json, string otherKey, FieldReader readOther, out ResourceId resource, out string domain)
    {
        resource = default;
        domain = null!;
        var reader = new MiniJsonReader(json);
        ResourceId? id = null;
        string? name = null;
        if (!reader.TryConsume((byte)'{'))
        {
            return false;
        }

        if (!reader.Peek((byte)'}'))
        {
            do
            {
                if (!reader.TryReadString(out string key) || !reader.TryConsume((byte)':'))
                {
                    return false;
                }

                if (key == "resource")
                {
                    if (id is not null || !reader.TryReadString(out string text) || !TryParseUuid(text, out var guid))
                    {
                        return false;
                    }

                    id = new ResourceId(guid);
                }
                else if (key == "domain")
                {
                    if (name is not null || !reader.TryReadString(out string d))
                    {
                        return false;
                    }

                    name = d;
                }
                else if (key == otherKey ? !readOther(ref reader) : !reader.TrySkipValue())
                {
                    return false;
                }
            }
            while (reader.TryConsume((byte)','));
        }

        if (!reader.TryConsume((byte)'}') || !reader.AtEnd || id is null || name is null)
        {
            return false;
        }

        resource = id.Value;
        domain = name;
        return true;
    }

    private static bool TryReadAddresses(ref MiniJsonReader reader, out List<IPAddress> addresses)
    {
        addresses = new List<IPAddress>(ProxyIpCount);
        if (!reader.TryConsume((byte)'['))
        {
            return false;
        }

        if (reader.TryConsume((byte)']'))
        {
            return true;
        }

        do
        {
            if (addresses.Count > ProxyIpCount || !reader.TryReadString(out string text) || !TryParseIp(text, out var ip))
            {
                return false;
            }

            addresses.Add(ip);
        }
        while (reader.TryConsume((byte)','));

        return reader.TryConsume((byte)']');
    }

    /// <summary>A UUID in the forms the Rust uuid crate parses: hyphenated, simple, braced, or as a URN.</summary>
    private static bool TryParseUuid(string text, out Guid guid)
    {
        if (text.StartsWith("urn:uuid:", StringComparison.OrdinalIgnoreCase))
        {
            return Guid.TryParseExact(text[9..], "D", out guid);
        }

        return Guid.TryParseExact(text, "D", out guid) || Guid.TryParseExact(text, "N", out guid) || Guid.TryParseExact(text, "B", out guid);
    }

    /// <summary>
    /// An IP as Rust's <c>IpAddr::from_str</c> reads it: IPv4 only as four decimal octets without leading zeros, IPv6
    /// without zone or brackets (.NET's own parser also takes forms such as <c>127.1</c> or <c>0x7f.0.0.1</c>).
    /// </summary>
    private static bool TryParseIp(string text, out IPAddress address)
    {
        address = IPAddress.None;
        if (text.Contains(':', StringComparison.Ordinal))
        {
            return text.IndexOfAny(['%', '[', ']', '/']) < 0 && IPAddress.TryParse(text, out address!)
                && address.AddressFamily == AddressFamily.InterNetworkV6;
        }

        var parts = text.Split('.');
        if (parts.Length != 4)
        {
            return false;
        }

        Span<byte> bytes = stackalloc byte[4];
        for (int i = 0; i < 4; i++)
        {
            string part = parts[i];
            if (part.Length is 0 or > 3 || (part.Length > 1 && part[0] == '0') || !part.All(char.IsAsciiDigit)
                || !byte.TryParse(part, NumberStyles.None, CultureInfo.InvariantCulture, out bytes[i]))
            {
                return false;
            }
        }

        address = new IPAddress(bytes);
        return true;
    }
}
