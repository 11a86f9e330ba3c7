using System.Text;
using System.Text.Json;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Mvc;
using Microsoft.AspNetCore.Mvc.Abstractions;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;

namespace WatchStat.Tests.Infrastructure;

/// <summary>What an HTTP function answered, rendered by ASP.NET Core's own result executors.</summary>
public sealed record HttpAnswer(int Status, string? ContentType, string Body, string? Location)
{
    public JsonElement Json => JsonDocument.Parse(Body).RootElement;
}

/// <summary>Builds real <see cref="HttpRequest"/>s for the HTTP functions and renders their <see cref="IActionResult"/>s.</summary>
public static class HttpCall
{
    private static readonly IServiceProvider MvcServices = new ServiceCollection().AddLogging().AddMvcCore().Services.BuildServiceProvider();

    public static HttpRequest Request(string method, string? body = null, string? contentType = "application/json", string? query = null)
    {
        var context = new DefaultHttpContext { RequestServices = MvcServices };
        context.Request.Method = method;
        if (query is not null) context.Request.QueryString = new QueryString(query);
        if (contentType is not null) context.Request.ContentType = contentType;
        var bytes = Encoding.UTF8.GetBytes(body ?? "");
        context.Request.Body = new MemoryStream(bytes);
        context.Request.ContentLength = bytes.Length;
        return context.Request;
    }

    public static async Task<HttpAnswer> RenderAsync(IActionResult result)
    {
        var context = new DefaultHttpContext { RequestServices = MvcServices };
        var body = new MemoryStream();
        context.Response.Body = body;
        await result.ExecuteResultAsync(new ActionContext(context, new RouteData(), new ActionDescriptor()));
        return new HttpAnswer(
            context.Response.StatusCode,
            context.Response.ContentType,
            Encoding.UTF8.GetString(body.ToArray()),
            context.Response.Headers.Location.ToString() is { Length: > 0 } location ? location : null);
    }
}
