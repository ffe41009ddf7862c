package org.postloan.engine;

import org.springframework.boot.SpringApplication;
import org.springframework.boot.autoconfigure.SpringBootApplication;

@SpringBootApplication
public class PostloanEngineApplication {
  public static void main(String[] args) {
    SpringApplication.run(PostloanEngineApplication.class, args);
  }
}
