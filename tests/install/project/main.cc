#include <lambdad/runtime.h>

int main() {
  return lambdad::run([](const lambdad::InvocationRequest& req) {
    return lambdad::InvocationResponse::success(req.payload);
  });
}
