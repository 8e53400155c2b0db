using System.Net;
using System.Net.Sockets;

namespace Firezone.Snownet;

/// <summary>
/// A TURN relay to use, as the portal describes it: its id, its address(es) (IPv4, IPv6 or both), and the
/// credentials to authenticate with (realm <c>firezone</c> for Firezone relays).
/// </summary>
public sealed record TurnRelay
{
    /// <summary>Creates a relay entry; at least one of the addresses is required.</summary>
    /// <exception cref="ArgumentException">No address, or an address of the wrong family.</exception>
    public TurnRelay(RelayId id, IPEndPoint? ipv4, IPEndPoint? ipv6, string username, string password, string realm = "firezone")
    {
        ArgumentNullException.ThrowIfNull(username);
        ArgumentNullException.ThrowIfNull(password);
        ArgumentNullException.ThrowIfNull(realm);
        if (ipv4 is null && ipv6 is null)
        {
            throw new ArgumentException("A relay needs an IPv4 or an IPv6 address.");
        }

        if (ipv4 is { AddressFamily: not AddressFamily.InterNetwork } || ipv6 is { AddressFamily: not AddressFamily.InterNetworkV6 })
        {
            throw new ArgumentException("IPv4 must be an IPv4 and IPv6 an IPv6 address.");
        }

        Id = id;
        IPv4 = ipv4;
        IPv6 = ipv6;
        Username = username;
        Password = password;
        Realm = realm;
    }

    /// <summary>The relay's id.</summary>
    public RelayId Id { get; }

    /// <summary>The relay's IPv4 address, if any.</summary>
    public IPEndPoint? IPv4 { get; }

    /// <summary>The relay's IPv6 address, if any.</summary>
    public IPEndPoint? IPv6 { get; }

    /// <summary>TURN username.</summary>
    public string Username { get; }

    /// <summary>TURN password.</summary>
    public string Password { get; }

    /// <summary>TURN realm.</summary>
    public string Realm { get; }

    /// <inheritdoc/>
    public override string ToString() => $"{Id} ({IPv4?.ToString() ?? "-"} / {IPv6?.ToString() ?? "-"})";
}
