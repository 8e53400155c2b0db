namespace Firezone.Tun.Io;

/// <summary>
/// Groups datagrams into UDP GSO messages: datagrams of one flow (same socket and destination), in their order, become
/// one message while they have the first one's size; a shorter one ends the message (the kernel allows a short last
/// segment), a longer one or an empty one starts the next. At most <see cref="UdpSendBatch.MaxSegments"/> segments and
/// <see cref="UdpSendBatch.MaxGsoBytes"/> bytes per message. Order within a flow is kept: messages are listed by their
/// first datagram, and a flow's later datagrams never join an earlier message past one that could not join it.
/// Pure and allocation-free: the caller provides flow ids (equal id ⇔ same destination) and the output spans.
/// </summary>
internal static class GsoPlanner
{
    /// <summary>How far past a message's first datagram to look for more of its flow.</summary>
    public const int Lookahead = 128;

    /// <summary>
    /// Plans messages for <paramref name="flows"/>/<paramref name="lengths"/> (one entry per datagram). Writes the
    /// datagram indexes message after message into <paramref name="order"/>, each message's end (exclusive index into
    /// <paramref name="order"/>) into <paramref name="messageEnds"/> and its segment size (0: a single datagram, no GSO)
    /// into <paramref name="segmentSizes"/>; returns the number of messages. Without <paramref name="gso"/> every
    /// datagram is its own message.
    /// </summary>
    public static int Plan(ReadOnlySpan<int> flows, ReadOnlySpan<int> lengths, bool gso, Span<int> order, Span<int> messageEnds, Span<int> segmentSizes)
    {
        int n = flows.Length;
        if (lengths.Length != n || order.Length < n || messageEnds.Length < n || segmentSizes.Length < n)
        {
            throw new ArgumentException("Every span needs one entry per datagram.");
        }

        Span<bool> consumed = n <= 2048 ? stackalloc bool[n] : new bool[n];
        consumed.Clear();
        int position = 0, messages = 0;
        for (int i = 0; i < n; i++)
        {
            if (consumed[i])
            {
                continue;
            }

            consumed[i] = true;
            order[position++] = i;
            int segment = lengths[i];
            int count = 1, bytes = segment;
            if (gso && segment > 0)
            {
                int end = Math.Min(n, i + 1 + Lookahead);
                for (int j = i + 1; j < end; j++)
                {
                    if (consumed[j] || flows[j] != flows[i])
                    {
                        continue;
                    }

                    int length = lengths[j];
                    if (length == 0 || length > segment || count == UdpSendBatch.MaxSegments || bytes + length > UdpSendBatch.MaxGsoBytes)
                    {
                        break;
                    }

                    consumed[j] = true;
                    order[position++] = j;
                    count++;
                    bytes += length;
                    if (length < segment)
                    {
                        break;
                    }
                }
            }

            messageEnds[messages] = position;
            segmentSizes[messages] = count > 1 ? segment : 0;
            messages++;
        }

        return messages;
    }
}
