using Firezone.Connlib.Model;

namespace Firezone.Connlib.Dns;

/// <summary>
/// A name of a DNS resource that the stub resolver has answered: its proxy addresses (assigned once, permanent) and
/// the resource it currently belongs to (re-tagged on every query for the name, tunnel spec §4.7).
/// </summary>
internal sealed class ProxiedName
{
    /// <summary>Creates the entry; the addresses are given in assignment order.</summary>
    public ProxiedName(string name, byte[] wireName, uint[] v4, UInt128[] v6, ResourceId resource)
    {
        Name = name;
        WireName = wireName;
        V4 = v4;
        V6 = v6;
        Resource = resource;
        V4Bytes = new byte[v4.Length * 4];
        V6Bytes = new byte[v6.Length * 16];
        var ips = new List<System.Net.IPAddress>(v4.Length + v6.Length);
        for (int i = 0; i < v4.Length; i++)
        {
            System.Buffers.Binary.BinaryPrimitives.WriteUInt32BigEndian(V4Bytes.AsSpan(i * 4), v4[i]);
            ips.Add(IpKey.V4(v4[i]));
        }

        for (int i = 0; i < v6.Length; i++)
        {
            System.Buffers.Binary.BinaryPrimitives.WriteUInt128BigEndian(V6Bytes.AsSpan(i * 16), v6[i]);
            ips.Add(IpKey.V6(v6[i]));
        }

        Request = new ResolveRequest(name, ips);
    }

    /// <summary>The name in lowercase presentation form, without the trailing dot.</summary>
    public string Name { get; }

    /// <summary>The name in lowercase uncompressed wire form (the target of PTR answers).</summary>
    public byte[] WireName { get; }

    /// <summary>The IPv4 proxy addresses (host-order numbers; 4 unless the range ran out).</summary>
    public uint[] V4 { get; }

    /// <summary>The IPv6 proxy addresses (4 unless the range ran out).</summary>
    public UInt128[] V6 { get; }

    /// <summary>The IPv4 addresses as consecutive 4-byte groups (answer data).</summary>
    public byte[] V4Bytes { get; }

    /// <summary>The IPv6 addresses as consecutive 16-byte groups (answer data).</summary>
    public byte[] V6Bytes { get; }

    /// <summary>The resource that matched the name at its latest A or AAAA query.</summary>
    public ResourceId Resource { get; set; }

    /// <summary>The name and its proxy addresses (IPv4 first), built once.</summary>
    public ResolveRequest Request { get; }

    /// <summary>The resolver's pattern version <see cref="CachedMatch"/> was computed at (-1: never).</summary>
    public long MatchVersion { get; set; } = -1;

    /// <summary>The pattern match for this name at <see cref="MatchVersion"/> (null: no pattern matched).</summary>
    public ResourceId? CachedMatch { get; set; }
}
