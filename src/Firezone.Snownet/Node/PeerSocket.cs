using System.Net;

namespace Firezone.Snownet;

/// <summary>
/// The nominated path of a connection: directly from a local base address to the peer, or through one of our relays
/// (<see cref="Destination"/> is then the peer's address as the relay sees it).
/// </summary>
internal sealed record PeerSocket
{
    private PeerSocket(IPEndPoint destination, IPEndPoint? source, RelayId? relay)
    {
        Destination = destination;
        Source = source;
        Relay = relay;
    }

    public IPEndPoint Destination { get; }

    /// <summary>The local base to send from (direct paths).</summary>
    public IPEndPoint? Source { get; }

    /// <summary>The relay (relayed paths).</summary>
    public RelayId? Relay { get; }

    public bool IsRelayed => Relay is not null;

    public static PeerSocket Direct(IPEndPoint source, IPEndPoint destination) => new(destination, source, null);

    public static PeerSocket Relayed(RelayId relay, IPEndPoint destination) => new(destination, null, relay);

    public override string ToString() => Relay is { } r ? $"relay {r} → {Destination}" : $"{Source} → {Destination}";
}
