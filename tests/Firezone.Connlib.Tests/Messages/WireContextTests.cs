using System.Reflection;
using Firezone.Connlib.Messages;
using Firezone.Connlib.Messages.Wire;
using FsCheck;
using FsCheck.Fluent;

namespace Firezone.Connlib.Tests.Messages;

/// <summary>
/// The JSON is source generated: every wire shape has metadata in <see cref="WireContext"/> (the codecs pass that
/// metadata to every serializer call, so nothing falls back to reflection), and the generators cover every message.
/// </summary>
public sealed class WireContextTests
{
    private static readonly Type[] WireTypes = typeof(WireContext).Assembly.GetTypes()
        .Where(t => t.Namespace == typeof(WireContext).Namespace && t.Name.EndsWith("Wire", StringComparison.Ordinal) && t.IsClass)
        .ToArray();

    [Fact]
    public void The_source_generated_context_has_metadata_for_every_wire_shape()
    {
        Assert.True(WireTypes.Length > 30, $"{WireTypes.Length}");
        foreach (var type in WireTypes)
        {
            var info = WireContext.Default.GetTypeInfo(type);
            Assert.True(info is not null, type.Name);

            // Nested shapes too: every property's type is known to the context.
            foreach (var property in info!.Properties)
            {
                Assert.True(WireContext.Default.GetTypeInfo(property.PropertyType) is not null, $"{type.Name}.{property.Name}");
            }
        }
    }

    [Fact]
    public void The_context_reads_snake_case_and_writes_nulls()
    {
        var options = WireContext.Default.Options;
        Assert.Equal(System.Text.Json.JsonNamingPolicy.SnakeCaseLower, options.PropertyNamingPolicy);
        Assert.Equal(System.Text.Json.Serialization.JsonIgnoreCondition.Never, options.DefaultIgnoreCondition);
        Assert.True(options.RespectNullableAnnotations);
    }

    [Fact]
    public void The_generators_produce_every_concrete_message_type()
    {
        var all = typeof(PortalMessage).Assembly.GetTypes()
            .Where(t => t.IsSubclassOf(typeof(PortalMessage)) && !t.IsAbstract)
            .Where(t => t != typeof(RelayJoin) && t != typeof(RelayInit)) // covered by Relay_join_and_init_round_trip
            .ToHashSet();
        var samples = Gen.OneOf(MessageGen.ClientPush, MessageGen.ClientReply, MessageGen.FromClient, MessageGen.GatewayPush, MessageGen.FromGateway)
            .Sample(3000, 20); // (count, size)
        Assert.Equal(3000, samples.Length);
        var generated = samples.Select(m => m.GetType()).ToHashSet();
        Assert.Empty(all.Except(generated).Select(t => t.Name));
    }
}
