using System.Net;
using Firezone.Snownet.Ice;

namespace Firezone.Snownet.Tests.Ice;

/// <summary>
/// A datagram an agent sent, copied out of its <see cref="Transmit"/> (whose payload is only valid until the agent's
/// next <see cref="IceAgent.PollTransmit"/>), so tests can keep it.
/// </summary>
internal sealed record SentDatagram(IPEndPoint Source, IPEndPoint Destination, byte[] Payload)
{
    /// <summary>Polls every pending transmit, copying each payload.</summary>
    public static List<SentDatagram> Drain(IceAgent agent)
    {
        var list = new List<SentDatagram>();
        while (agent.PollTransmit() is { } t)
        {
            Assert.NotNull(t.Source); // ICE always sends from a local base
            list.Add(new SentDatagram(t.Source, t.Destination, t.Payload.ToArray()));
        }

        return list;
    }
}
