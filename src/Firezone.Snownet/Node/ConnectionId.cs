using System.Buffers.Binary;

namespace Firezone.Snownet;

/// <summary>
/// The caller-chosen id of a connection (a Firezone client uses the gateway's id, a gateway the client's id). Ordered
/// as UUIDs are (byte by byte), because a <see cref="Node"/> walks its connections in id order.
/// </summary>
/// <param name="Value">The id.</param>
public readonly record struct ConnectionId(Guid Value) : IComparable<ConnectionId>
{
    /// <inheritdoc/>
    public int CompareTo(ConnectionId other) => UuidOrder.Compare(Value, other.Value);

    /// <inheritdoc/>
    public override string ToString() => Value.ToString();
}

/// <summary>The caller-chosen id of a TURN relay (the portal's relay id).</summary>
/// <param name="Value">The id.</param>
public readonly record struct RelayId(Guid Value) : IComparable<RelayId>
{
    /// <inheritdoc/>
    public int CompareTo(RelayId other) => UuidOrder.Compare(Value, other.Value);

    /// <inheritdoc/>
    public override string ToString() => Value.ToString();
}

/// <summary>UUID order: the 16 bytes in RFC 4122 (big-endian) order, compared lexicographically.</summary>
internal static class UuidOrder
{
    public static int Compare(Guid a, Guid b)
    {
        Span<byte> x = stackalloc byte[16];
        Span<byte> y = stackalloc byte[16];
        a.TryWriteBytes(x, bigEndian: true, out _);
        b.TryWriteBytes(y, bigEndian: true, out _);
        int high = BinaryPrimitives.ReadUInt64BigEndian(x).CompareTo(BinaryPrimitives.ReadUInt64BigEndian(y));
        return high != 0 ? high : BinaryPrimitives.ReadUInt64BigEndian(x[8..]).CompareTo(BinaryPrimitives.ReadUInt64BigEndian(y[8..]));
    }
}
