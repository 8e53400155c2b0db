using System.Buffers.Binary;
using System.Net;
using System.Net.Sockets;

namespace Firezone.Connlib.Routing;

/// <summary>
/// A table from IP networks to values with longest-prefix lookup (the "allowed IPs" of a gateway on the client, the
/// active CIDR resources, the gateway's filters and peer index; tunnel spec §4, §5, §8). One dictionary per prefix
/// length and family plus a bit set of the lengths in use, so a lookup is at most 33 (IPv4) or 129 (IPv6) hash probes
/// and allocates nothing; span overloads take the raw 4- or 16-byte address of a packet. Not thread-safe.
/// </summary>
/// <typeparam name="T">The value type.</typeparam>
internal sealed class IpPrefixTable<T>
{
    private readonly Dictionary<UInt128, T>?[] _v4 = new Dictionary<UInt128, T>?[33];
    private readonly Dictionary<UInt128, T>?[] _v6 = new Dictionary<UInt128, T>?[129];
    private ulong _v4Lengths;
    private UInt128 _v6LengthsLow;   // lengths 0..127
    private bool _v6Has128;

    /// <summary>Number of networks in the table.</summary>
    public int Count { get; private set; }

    /// <summary>Adds or replaces the value of exactly <paramref name="network"/>; true when it was new.</summary>
    public bool Set(IPNetwork network, T value)
    {
        var (table, length, key) = Slot(network, create: true);
        bool added = !table!.ContainsKey(key);
        table[key] = value;
        if (added)
        {
            Count++;
            MarkLength(network.BaseAddress.AddressFamily, length, true);
        }

        return added;
    }

    /// <summary>Removes exactly <paramref name="network"/>; true when it was present.</summary>
    public bool Remove(IPNetwork network)
    {
        var (table, length, key) = Slot(network, create: false);
        if (table is null || !table.Remove(key))
        {
            return false;
        }

        Count--;
        if (table.Count == 0)
        {
            MarkLength(network.BaseAddress.AddressFamily, length, false);
        }

        return true;
    }

    /// <summary>The value of exactly <paramref name="network"/>.</summary>
    public bool TryGetExact(IPNetwork network, out T value)
    {
        var (table, _, key) = Slot(network, create: false);
        if (table is not null && table.TryGetValue(key, out value!))
        {
            return true;
        }

        value = default!;
        return false;
    }

    /// <summary>The value of exactly the network (raw 4- or 16-byte address, host bits ignored, prefix length); allocation-free.</summary>
    public bool TryGetExact(ReadOnlySpan<byte> address, int prefixLength, out T value)
    {
        Dictionary<UInt128, T>? table = null;
        UInt128 key = UInt128.Zero;
        if (address.Length == 4 && prefixLength is >= 0 and <= 32)
        {
            table = _v4[prefixLength];
            key = Mask(BinaryPrimitives.ReadUInt32BigEndian(address), prefixLength, 32);
        }
        else if (address.Length == 16 && prefixLength is >= 0 and <= 128)
        {
            table = _v6[prefixLength];
            key = Mask(BinaryPrimitives.ReadUInt128BigEndian(address), prefixLength, 128);
        }

        if (table is not null && table.TryGetValue(key, out value!))
        {
            return true;
        }

        value = default!;
        return false;
    }

    /// <summary>The value of the longest network containing <paramref name="address"/>.</summary>
    public bool TryLongestMatch(IPAddress address, out IPNetwork network, out T value)
    {
        ArgumentNullException.ThrowIfNull(address);
        Span<byte> bytes = stackalloc byte[16];
        address.TryWriteBytes(bytes, out int written);
        return TryLongestMatch(bytes[..written], out network, out value);
    }

    /// <summary>The value of the longest network containing the raw address (4 or 16 bytes, network order).</summary>
    public bool TryLongestMatch(ReadOnlySpan<byte> address, out IPNetwork network, out T value)
    {
        if (address.Length == 4)
        {
            UInt128 full = BinaryPrimitives.ReadUInt32BigEndian(address);
            for (ulong lengths = _v4Lengths; lengths != 0;)
            {
                int length = 63 - (int)ulong.LeadingZeroCount(lengths);
                lengths &= ~(1UL << length);
                if (_v4[length]!.TryGetValue(Mask(full, length, 32), out value!))
                {
                    network = default;
                    network = ToNetwork(Mask(full, length, 32), length, 32);
                    return true;
                }
            }
        }
        else if (address.Length == 16)
        {
            UInt128 full = BinaryPrimitives.ReadUInt128BigEndian(address);
            if (_v6Has128 && _v6[128]!.TryGetValue(full, out value!))
            {
                network = ToNetwork(full, 128, 128);
                return true;
            }

            for (UInt128 lengths = _v6LengthsLow; lengths != UInt128.Zero;)
            {
                int length = 127 - (int)UInt128.LeadingZeroCount(lengths);
                lengths &= ~(UInt128.One << length);
                UInt128 key = Mask(full, length, 128);
                if (_v6[length]!.TryGetValue(key, out value!))
                {
                    network = ToNetwork(key, length, 128);
                    return true;
                }
            }
        }

        network = default;
        value = default!;
        return false;
    }

    /// <summary>True when some network contains the raw address; allocation-free (no network value is built).</summary>
    public bool TryLongestMatchValue(ReadOnlySpan<byte> address, out T value)
    {
        if (address.Length == 4)
        {
            UInt128 full = BinaryPrimitives.ReadUInt32BigEndian(address);
            for (ulong lengths = _v4Lengths; lengths != 0;)
            {
                int length = 63 - (int)ulong.LeadingZeroCount(lengths);
                lengths &= ~(1UL << length);
                if (_v4[length]!.TryGetValue(Mask(full, length, 32), out value!))
                {
                    return true;
                }
            }
        }
        else if (address.Length == 16)
        {
            UInt128 full = BinaryPrimitives.ReadUInt128BigEndian(address);
            if (_v6Has128 && _v6[128]!.TryGetValue(full, out value!))
            {
                return true;
            }

            for (UInt128 lengths = _v6LengthsLow; lengths != UInt128.Zero;)
            {
                int length = 127 - (int)UInt128.LeadingZeroCount(lengths);
                lengths &= ~(UInt128.One << length);
                if (_v6[length]!.TryGetValue(Mask(full, length, 128), out value!))
                {
                    return true;
                }
            }
        }

        value = default!;
        return false;
    }

    /// <summary>Removes every entry whose network and value match <paramref name="predicate"/>; returns how many.</summary>
    public int RemoveWhere(Func<IPNetwork, T, bool> predicate)
    {
        ArgumentNullException.ThrowIfNull(predicate);
        int removed = 0;
        foreach (var (network, value) in Entries())
        {
            if (predicate(network, value) && Remove(network))
            {
                removed++;
            }
        }

        return removed;
    }

    /// <summary>Empties the table.</summary>
    public void Clear()
    {
        Array.Clear(_v4);
        Array.Clear(_v6);
        _v4Lengths = 0;
        _v6LengthsLow = UInt128.Zero;
        _v6Has128 = false;
        Count = 0;
    }

    /// <summary>
    /// Every entry in a deterministic order: IPv4 before IPv6, then by network address, then shorter prefix first.
    /// Allocates a list (not for per-packet use).
    /// </summary>
    public List<(IPNetwork Network, T Value)> Entries()
    {
        var list = new List<(UInt128 Key, int Family, int Length, T Value)>(Count);
        for (int length = 0; length <= 32; length++)
        {
            if (_v4[length] is { } table)
            {
                foreach (var (key, value) in table)
                {
                    list.Add((key, 4, length, value));
                }
            }
        }

        for (int length = 0; length <= 128; length++)
        {
            if (_v6[length] is { } table)
            {
                foreach (var (key, value) in table)
                {
                    list.Add((key, 6, length, value));
                }
            }
        }

        list.Sort(static (a, b) => a.Family != b.Family ? a.Family.CompareTo(b.Family)
            : a.Key != b.Key ? a.Key.CompareTo(b.Key) : a.Length.CompareTo(b.Length));
        return list.ConvertAll(e => (ToNetwork(e.Key, e.Length, e.Family == 4 ? 32 : 128), e.Value));
    }

    private (Dictionary<UInt128, T>? Table, int Length, UInt128 Key) Slot(IPNetwork network, bool create)
    {
        var address = network.BaseAddress;
        int length = network.PrefixLength;
        Span<byte> bytes = stackalloc byte[16];
        address.TryWriteBytes(bytes, out int written);
        Dictionary<UInt128, T>?[] tables;
        UInt128 key;
        if (address.AddressFamily == AddressFamily.InterNetwork)
        {
            tables = _v4;
            key = Mask(BinaryPrimitives.ReadUInt32BigEndian(bytes), length, 32);
        }
        else if (address.AddressFamily == AddressFamily.InterNetworkV6 && written == 16)
        {
            tables = _v6;
            key = Mask(BinaryPrimitives.ReadUInt128BigEndian(bytes), length, 128);
        }
        else
        {
            throw new ArgumentException($"Not an IPv4 or IPv6 network: {network}", nameof(network));
        }

        if (create)
        {
            tables[length] ??= new Dictionary<UInt128, T>();
        }

        return (tables[length], length, key);
    }

    private void MarkLength(AddressFamily family, int length, bool used)
    {
        if (family == AddressFamily.InterNetwork)
        {
            _v4Lengths = used ? _v4Lengths | (1UL << length) : _v4Lengths & ~(1UL << length);
        }
        else if (length == 128)
        {
            _v6Has128 = used;
        }
        else
        {
            _v6LengthsLow = used ? _v6LengthsLow | (UInt128.One << length) : _v6LengthsLow & ~(UInt128.One << length);
        }
    }

    private static UInt128 Mask(UInt128 address, int length, int bits)
    {
        if (length == 0)
        {
            return UInt128.Zero;
        }

        UInt128 all = bits == 32 ? uint.MaxValue : UInt128.MaxValue;
        UInt128 mask = (all << (bits - length)) & all;
        return address & mask;
    }

    private static IPNetwork ToNetwork(UInt128 key, int length, int bits)
    {
        Span<byte> bytes = stackalloc byte[16];
        if (bits == 32)
        {
            BinaryPrimitives.WriteUInt32BigEndian(bytes, (uint)key);
            return new IPNetwork(new IPAddress(bytes[..4]), length);
        }

        BinaryPrimitives.WriteUInt128BigEndian(bytes, key);
        return new IPNetwork(new IPAddress(bytes), length);
    }
}
