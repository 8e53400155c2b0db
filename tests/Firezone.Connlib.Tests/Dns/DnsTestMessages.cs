using System.Buffers.Binary;
using System.Text;
using Ar = ARSoft.Tools.Net.Dns;
using Firezone.Connlib.Dns;

namespace Firezone.Connlib.Tests.Dns;

/// <summary>Builds DNS messages byte by byte for tests (independent of Connlib's writer) and parses Connlib's output with ARSoft.Tools.Net.</summary>
internal static class DnsTestMessages
{
    public const ushort RecursionDesired = 0x0100;

    /// <summary>The wire form of a dotted name (no escapes).</summary>
    public static byte[] Name(string name)
    {
        var bytes = new List<byte>();
        foreach (var label in name.TrimEnd('.').Split('.', StringSplitOptions.RemoveEmptyEntries))
        {
            bytes.Add((byte)label.Length);
            bytes.AddRange(Encoding.ASCII.GetBytes(label));
        }

        bytes.Add(0);
        return [.. bytes];
    }

    /// <summary>A query with the given questions.</summary>
    public static byte[] Query(ushort id, ushort flags, params (string Name, ushort Type)[] questions)
    {
        var m = new List<byte>(new byte[12]);
        foreach (var (name, type) in questions)
        {
            m.AddRange(Name(name));
            m.AddRange([(byte)(type >> 8), (byte)type, 0, 1]);
        }

        var bytes = m.ToArray();
        BinaryPrimitives.WriteUInt16BigEndian(bytes, id);
        BinaryPrimitives.WriteUInt16BigEndian(bytes.AsSpan(2), flags);
        BinaryPrimitives.WriteUInt16BigEndian(bytes.AsSpan(4), (ushort)questions.Length);
        return bytes;
    }

    /// <summary>A single-question query with RD set.</summary>
    public static byte[] Query(string name, DnsRecordType type, ushort id = 0x1234) => Query(id, RecursionDesired, (name, (ushort)type));

    /// <summary>Parses with ARSoft.Tools.Net (throws on a malformed message: the oracle says no).</summary>
    public static Ar.DnsMessage Parse(ReadOnlySpan<byte> message) => Ar.DnsMessage.Parse(new ArraySegment<byte>(message.ToArray()));

    /// <summary>Runs the resolver on a query and returns the result and the response bytes.</summary>
    public static (DnsResolution Result, byte[] Response) Resolve(StubResolver resolver, byte[] query)
    {
        var buffer = new byte[DnsMessages.MinResponseBufferLength];
        var result = resolver.Handle(query, buffer);
        return (result, buffer[..result.ResponseLength]);
    }
}
