namespace Firezone.Connlib.Model;

/// <summary>A resource's id (a UUID; ordered by its canonical string form, as upstream's UUID newtypes are).</summary>
/// <param name="Value">The UUID.</param>
public readonly record struct ResourceId(Guid Value) : IComparable<ResourceId>
{
    /// <inheritdoc/>
    public int CompareTo(ResourceId other) => UuidOrder.Compare(Value, other.Value);

    /// <summary>The lowercase hyphenated UUID.</summary>
    public override string ToString() => Value.ToString("D");
}

/// <summary>A gateway's id (a UUID; on the client it is also the id of the snownet connection to that gateway).</summary>
/// <param name="Value">The UUID.</param>
public readonly record struct GatewayId(Guid Value) : IComparable<GatewayId>
{
    /// <inheritdoc/>
    public int CompareTo(GatewayId other) => UuidOrder.Compare(Value, other.Value);

    /// <summary>The lowercase hyphenated UUID.</summary>
    public override string ToString() => Value.ToString("D");
}

/// <summary>A client's id (a UUID; on the gateway it is also the id of the snownet connection to that client).</summary>
/// <param name="Value">The UUID.</param>
public readonly record struct ClientId(Guid Value) : IComparable<ClientId>
{
    /// <inheritdoc/>
    public int CompareTo(ClientId other) => UuidOrder.Compare(Value, other.Value);

    /// <summary>The lowercase hyphenated UUID.</summary>
    public override string ToString() => Value.ToString("D");
}

/// <summary>A site's id (the portal calls sites "gateway groups").</summary>
/// <param name="Value">The UUID.</param>
public readonly record struct SiteId(Guid Value) : IComparable<SiteId>
{
    /// <inheritdoc/>
    public int CompareTo(SiteId other) => UuidOrder.Compare(Value, other.Value);

    /// <summary>The lowercase hyphenated UUID.</summary>
    public override string ToString() => Value.ToString("D");
}

/// <summary>
/// UUID order as upstream's: by the 16 bytes in RFC 4122 (big-endian) order, which is also the order of the canonical
/// strings. <see cref="Guid.CompareTo(Guid)"/> orders by .NET's mixed-endian fields and would differ.
/// </summary>
internal static class UuidOrder
{
    public static int Compare(Guid a, Guid b)
    {
        Span<byte> x = stackalloc byte[16];
        Span<byte> y = stackalloc byte[16];
        a.TryWriteBytes(x, bigEndian: true, out _);
        b.TryWriteBytes(y, bigEndian: true, out _);
        return x.SequenceCompareTo(y);
    }
}
