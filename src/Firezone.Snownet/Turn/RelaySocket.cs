using System.Net;
using System.Net.Sockets;

namespace Firezone.Snownet.Turn;

/// <summary>
/// The address(es) of one relay: IPv4, IPv6 or both (snownet spec §2.6).
/// </summary>
internal readonly record struct RelaySocket
{
    private RelaySocket(IPEndPoint? v4, IPEndPoint? v6)
    {
        V4 = v4;
        V6 = v6;
    }

    /// <summary>The relay's IPv4 address, if it has one.</summary>
    public IPEndPoint? V4 { get; }

    /// <summary>The relay's IPv6 address, if it has one.</summary>
    public IPEndPoint? V6 { get; }

    /// <summary>A relay reachable over IPv4 only.</summary>
    public static RelaySocket FromV4(IPEndPoint v4) =>
        v4.AddressFamily == AddressFamily.InterNetwork ? new(v4, null) : throw new ArgumentException("not IPv4", nameof(v4));

    /// <summary>A relay reachable over IPv6 only.</summary>
    public static RelaySocket FromV6(IPEndPoint v6) =>
        v6.AddressFamily == AddressFamily.InterNetworkV6 ? new(null, v6) : throw new ArgumentException("not IPv6", nameof(v6));

    /// <summary>A dual-stack relay.</summary>
    public static RelaySocket Dual(IPEndPoint v4, IPEndPoint v6) =>
        v4.AddressFamily == AddressFamily.InterNetwork && v6.AddressFamily == AddressFamily.InterNetworkV6
            ? new(v4, v6)
            : throw new ArgumentException("need one IPv4 and one IPv6 address");

    /// <summary>A relay with one address of either family.</summary>
    public static RelaySocket From(IPEndPoint address) =>
        address.AddressFamily == AddressFamily.InterNetworkV6 ? FromV6(address) : FromV4(address);

    /// <summary>True if either of the relay's addresses equals <paramref name="address"/>.</summary>
    public bool Matches(IPEndPoint address) =>
        (V4 is not null && V4.Equals(address)) || (V6 is not null && V6.Equals(address));

    /// <inheritdoc/>
    public bool Equals(RelaySocket other) => Equals(V4, other.V4) && Equals(V6, other.V6);

    /// <inheritdoc/>
    public override int GetHashCode() => HashCode.Combine(V4, V6);

    /// <inheritdoc/>
    public override string ToString() => (V4, V6) switch
    {
        ({ } a, { } b) => $"{a} / {b}",
        ({ } a, null) => a.ToString(),
        (null, { } b) => b.ToString(),
        _ => "(none)",
    };
}
